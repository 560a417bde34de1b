-- +goose Up
-- Lists that cost one page, whatever their length (issue 9), as
-- sqlite/00007_member_lists.sql: every list is read by keyset over an
-- index that already holds its order. The username and the sender's are
-- copied onto the membership row (COLLATE "C": byte order, as SQLite
-- compares), and recency is minus the time a member accepted, or an
-- invitation was sent, so that an ascending index lists the most recent
-- first. PostgreSQL computes a generated column when the row is written
-- (STORED); SQLite's is VIRTUAL.
ALTER TABLE memberships ADD COLUMN username text COLLATE "C" NOT NULL DEFAULT '';
UPDATE memberships SET username = u.username FROM users u WHERE u.id = memberships.user_id;
ALTER TABLE memberships ADD COLUMN sender_name text COLLATE "C" NOT NULL DEFAULT '';
UPDATE memberships SET sender_name = u.username FROM users u WHERE u.id = memberships.sender_id;
ALTER TABLE memberships ADD COLUMN recency bigint GENERATED ALWAYS AS (-coalesce(accepted, created)) STORED;
CREATE INDEX memberships_list ON memberships (organization_id, status, role, username, sender_name, created, expires, accepted);
CREATE INDEX memberships_recent ON memberships (organization_id, status, role, recency, username, sender_name, created, expires, accepted);

-- A user's own memberships, by status, in the order they were made (the
-- id ends the index, as SQLite's rowid ends every index of its).
CREATE INDEX memberships_user_status ON memberships (user_id, status, id);
DROP INDEX memberships_user;

-- Open invitations by expiry, now with their role: the live ones of each
-- role are counted from it alone.
DROP INDEX memberships_pending;
CREATE INDEX memberships_pending ON memberships (organization_id, expires, role) WHERE status = 'pending';

-- Counts of each organization's rows by status and role, kept by a
-- trigger instead of count(*); they replace pending_invitation_counts
-- (migration 3), which counted pending rows alone.
CREATE TABLE membership_counts (
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status          text   COLLATE "C" NOT NULL,
    role            text   COLLATE "C" NOT NULL,
    members         bigint NOT NULL,
    PRIMARY KEY (organization_id, status, role)
);

INSERT INTO membership_counts (organization_id, status, role, members)
SELECT organization_id, status, role, count(*) FROM memberships GROUP BY organization_id, status, role;

-- +goose StatementBegin
CREATE FUNCTION membership_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE membership_counts SET members = members - 1
        WHERE organization_id = OLD.organization_id AND status = OLD.status AND role = OLD.role;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO membership_counts (organization_id, status, role, members) VALUES (NEW.organization_id, NEW.status, NEW.role, 1)
        ON CONFLICT (organization_id, status, role) DO UPDATE SET members = membership_counts.members + 1;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER membership_counts_insert AFTER INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION membership_counts_change();
CREATE TRIGGER membership_counts_delete AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION membership_counts_change();
CREATE TRIGGER membership_counts_update AFTER UPDATE OF status, role ON memberships
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION membership_counts_change();

DROP TRIGGER pending_counts_update ON memberships;
DROP TRIGGER pending_counts_delete ON memberships;
DROP TRIGGER pending_counts_insert ON memberships;
DROP TRIGGER pending_counts_organization ON organizations;
DROP FUNCTION pending_counts_membership();
DROP FUNCTION pending_counts_organization();
DROP TABLE pending_invitation_counts;

-- The audit trail is read a page at a time by organization, newest
-- first, keyed by (organization_id, id): an event's id is its number
-- within its organization (the events copied here keep theirs, unique as
-- they were). Two transactions that number an event of one organization
-- at once collide on this key, and the one that loses runs again
-- (postgresRetryable).
CREATE TABLE audit_events_by_org (
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint NOT NULL,
    time            bigint NOT NULL,
    actor           text   NOT NULL,
    action          text   NOT NULL,
    target          text   NOT NULL,
    role            text   NOT NULL DEFAULT '',
    old_role        text   NOT NULL DEFAULT '',
    old_name        text   NOT NULL DEFAULT '',
    PRIMARY KEY (organization_id, id)
);
INSERT INTO audit_events_by_org (organization_id, id, time, actor, action, target, role, old_role, old_name)
SELECT organization_id, id, time, actor, action, target, role, old_role, old_name FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_by_org RENAME TO audit_events;
ALTER TABLE audit_events RENAME CONSTRAINT audit_events_by_org_pkey TO audit_events_pkey;
ALTER TABLE audit_events RENAME CONSTRAINT audit_events_by_org_organization_id_fkey TO audit_events_organization_id_fkey;

-- Username search: a trigram index over every username (pg_trgm, part of
-- PostgreSQL's contrib, trusted: the database's owner may create it), so
-- that username LIKE '%text%' finds the names that contain a text at the
-- cost of what they are, not a scan of every member; SQLite's is FTS5.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_username_trgm ON users USING gin (username gin_trgm_ops);

-- +goose Down
DROP INDEX users_username_trgm;

CREATE TABLE audit_events_by_id (
    id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    time            bigint NOT NULL,
    actor           text   NOT NULL,
    action          text   NOT NULL,
    target          text   NOT NULL,
    role            text   NOT NULL DEFAULT '',
    old_role        text   NOT NULL DEFAULT '',
    old_name        text   NOT NULL DEFAULT ''
);
-- Ids within an organization may repeat across organizations: renumber by time.
INSERT INTO audit_events_by_id (organization_id, time, actor, action, target, role, old_role, old_name)
SELECT organization_id, time, actor, action, target, role, old_role, old_name FROM audit_events ORDER BY time, organization_id, id;
DROP TABLE audit_events;
ALTER TABLE audit_events_by_id RENAME TO audit_events;
CREATE INDEX audit_events_org ON audit_events (organization_id, id);

CREATE TABLE pending_invitation_counts (
    organization_id bigint  PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    pending         integer NOT NULL DEFAULT 0
);
INSERT INTO pending_invitation_counts (organization_id, pending)
SELECT o.id, (SELECT count(*) FROM memberships m WHERE m.organization_id = o.id AND m.status = 'pending')
FROM organizations o;
-- +goose StatementBegin
CREATE FUNCTION pending_counts_organization() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pending_invitation_counts (organization_id, pending) VALUES (NEW.id, 0);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER pending_counts_organization AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION pending_counts_organization();
-- +goose StatementBegin
CREATE FUNCTION pending_counts_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'pending' THEN
        UPDATE pending_invitation_counts SET pending = pending - 1 WHERE organization_id = OLD.organization_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'pending' THEN
        UPDATE pending_invitation_counts SET pending = pending + 1 WHERE organization_id = NEW.organization_id;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER pending_counts_insert AFTER INSERT ON memberships
    FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION pending_counts_membership();
CREATE TRIGGER pending_counts_delete AFTER DELETE ON memberships
    FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION pending_counts_membership();
CREATE TRIGGER pending_counts_update AFTER UPDATE OF status ON memberships
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION pending_counts_membership();

DROP TRIGGER membership_counts_update ON memberships;
DROP TRIGGER membership_counts_delete ON memberships;
DROP TRIGGER membership_counts_insert ON memberships;
DROP FUNCTION membership_counts_change();
DROP TABLE membership_counts;

DROP INDEX memberships_pending;
CREATE INDEX memberships_pending ON memberships (organization_id, expires) WHERE status = 'pending';
CREATE INDEX memberships_user ON memberships (user_id);
DROP INDEX memberships_user_status;
DROP INDEX memberships_recent;
DROP INDEX memberships_list;
ALTER TABLE memberships DROP COLUMN recency;
ALTER TABLE memberships DROP COLUMN sender_name;
ALTER TABLE memberships DROP COLUMN username;

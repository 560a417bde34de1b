-- +goose Up
-- Lists that cost one page, whatever their length (issue 9). Every list is
-- read by keyset ("rows after this one") over an index that already holds
-- its order, so no page sorts or counts the whole list.
--
-- An organization's member list is ordered within runs of one status and
-- one role (the service puts the runs in the order of guildhall.Roles, so
-- the ranking stays written once, in Go): by username, or by when a member
-- joined. The username is copied onto the row for that, and the sender's
-- for the list to show (usernames never change); recency is minus the time
-- a member accepted, or an invitation was sent, so that an ascending index
-- lists the most recent first. Each index also holds every column a page
-- shows, so a page reads its rows from the index alone.
ALTER TABLE memberships ADD COLUMN username TEXT NOT NULL DEFAULT '';
UPDATE memberships SET username = (SELECT u.username FROM users u WHERE u.id = memberships.user_id);
ALTER TABLE memberships ADD COLUMN sender_name TEXT NOT NULL DEFAULT '';
UPDATE memberships SET sender_name = coalesce((SELECT u.username FROM users u WHERE u.id = memberships.sender_id), '');
ALTER TABLE memberships ADD COLUMN recency INTEGER GENERATED ALWAYS AS (-coalesce(accepted, created)) VIRTUAL;
CREATE INDEX memberships_list ON memberships (organization_id, status, role, username, sender_name, created, expires, accepted);
CREATE INDEX memberships_recent ON memberships (organization_id, status, role, recency, username, sender_name, created, expires, accepted);

-- A user's own memberships, by status, in the order they were made (the
-- rowid ends every index).
CREATE INDEX memberships_user_status ON memberships (user_id, status);
DROP INDEX memberships_user;

-- Open invitations by expiry, now with their role: the live ones of each
-- role are counted from it alone.
DROP INDEX memberships_pending;
CREATE INDEX memberships_pending ON memberships (organization_id, expires, role) WHERE status = 'pending';

-- Counts of each organization's rows by status and role, kept by triggers
-- instead of count(*): the member list's filters show them, and the cap on
-- open invitations reads its pending total from them. They replace
-- pending_invitation_counts (migration 3), which counted pending rows alone.
CREATE TABLE membership_counts (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    members         INTEGER NOT NULL,
    PRIMARY KEY (organization_id, status, role)
) STRICT, WITHOUT ROWID;

INSERT INTO membership_counts (organization_id, status, role, members)
SELECT organization_id, status, role, count(*) FROM memberships GROUP BY organization_id, status, role;

-- +goose StatementBegin
CREATE TRIGGER membership_counts_insert AFTER INSERT ON memberships
BEGIN
    INSERT INTO membership_counts (organization_id, status, role, members) VALUES (NEW.organization_id, NEW.status, NEW.role, 1)
    ON CONFLICT (organization_id, status, role) DO UPDATE SET members = members + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER membership_counts_delete AFTER DELETE ON memberships
BEGIN
    UPDATE membership_counts SET members = members - 1
    WHERE organization_id = OLD.organization_id AND status = OLD.status AND role = OLD.role;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER membership_counts_update AFTER UPDATE OF status, role ON memberships
WHEN OLD.status IS NOT NEW.status OR OLD.role IS NOT NEW.role
BEGIN
    UPDATE membership_counts SET members = members - 1
    WHERE organization_id = OLD.organization_id AND status = OLD.status AND role = OLD.role;
    INSERT INTO membership_counts (organization_id, status, role, members) VALUES (NEW.organization_id, NEW.status, NEW.role, 1)
    ON CONFLICT (organization_id, status, role) DO UPDATE SET members = members + 1;
END;
-- +goose StatementEnd

DROP TRIGGER pending_counts_update;
DROP TRIGGER pending_counts_delete;
DROP TRIGGER pending_counts_insert;
DROP TRIGGER pending_counts_organization;
DROP TABLE pending_invitation_counts;

-- The audit trail is read a page at a time by organization, newest
-- first: the table is kept in that order, keyed by (organization_id, id),
-- so an event is one B-tree entry rather than a row and an index entry.
-- An event's id is its number within its organization (the events copied
-- here keep theirs, unique as they were).
CREATE TABLE audit_events_by_org (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              INTEGER NOT NULL,
    time            INTEGER NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT '',
    old_role        TEXT    NOT NULL DEFAULT '',
    old_name        TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (organization_id, id)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_events_by_org (organization_id, id, time, actor, action, target, role, old_role, old_name)
SELECT organization_id, id, time, actor, action, target, role, old_role, old_name FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_by_org RENAME TO audit_events;

-- Username search: a trigram index over every username (SQLite's FTS5),
-- so that finding the names that contain a text costs what they are, not
-- a scan of every member. It reads the names from users, and triggers keep
-- it in step.
CREATE VIRTUAL TABLE users_fts USING fts5 (username, content = 'users', content_rowid = 'id', tokenize = 'trigram');
INSERT INTO users_fts (users_fts) VALUES ('rebuild');
INSERT INTO users_fts (users_fts) VALUES ('optimize');

-- +goose StatementBegin
CREATE TRIGGER users_fts_insert AFTER INSERT ON users
BEGIN
    INSERT INTO users_fts (rowid, username) VALUES (NEW.id, NEW.username);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_fts_delete AFTER DELETE ON users
BEGIN
    INSERT INTO users_fts (users_fts, rowid, username) VALUES ('delete', OLD.id, OLD.username);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_fts_update AFTER UPDATE OF username ON users
BEGIN
    INSERT INTO users_fts (users_fts, rowid, username) VALUES ('delete', OLD.id, OLD.username);
    INSERT INTO users_fts (rowid, username) VALUES (NEW.id, NEW.username);
END;
-- +goose StatementEnd

-- +goose Down
CREATE TABLE audit_events_by_rowid (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    time            INTEGER NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT '',
    old_role        TEXT    NOT NULL DEFAULT '',
    old_name        TEXT    NOT NULL DEFAULT ''
) STRICT;
-- Ids within an organization may repeat across organizations: renumber by time.
INSERT INTO audit_events_by_rowid (organization_id, time, actor, action, target, role, old_role, old_name)
SELECT organization_id, time, actor, action, target, role, old_role, old_name FROM audit_events ORDER BY time, organization_id, id;
DROP TABLE audit_events;
ALTER TABLE audit_events_by_rowid RENAME TO audit_events;
CREATE INDEX audit_events_org ON audit_events (organization_id, id);

DROP TRIGGER users_fts_update;
DROP TRIGGER users_fts_delete;
DROP TRIGGER users_fts_insert;
DROP TABLE users_fts;

CREATE TABLE pending_invitation_counts (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    pending         INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO pending_invitation_counts (organization_id, pending)
SELECT o.id, (SELECT count(*) FROM memberships m WHERE m.organization_id = o.id AND m.status = 'pending')
FROM organizations o;
-- +goose StatementBegin
CREATE TRIGGER pending_counts_organization AFTER INSERT ON organizations
BEGIN
    INSERT INTO pending_invitation_counts (organization_id, pending) VALUES (NEW.id, 0);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pending_counts_insert AFTER INSERT ON memberships WHEN NEW.status = 'pending'
BEGIN
    UPDATE pending_invitation_counts SET pending = pending + 1 WHERE organization_id = NEW.organization_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pending_counts_delete AFTER DELETE ON memberships WHEN OLD.status = 'pending'
BEGIN
    UPDATE pending_invitation_counts SET pending = pending - 1 WHERE organization_id = OLD.organization_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER pending_counts_update AFTER UPDATE OF status ON memberships WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE pending_invitation_counts
    SET pending = pending + (NEW.status = 'pending') - (OLD.status = 'pending')
    WHERE organization_id = NEW.organization_id;
END;
-- +goose StatementEnd

DROP TRIGGER membership_counts_update;
DROP TRIGGER membership_counts_delete;
DROP TRIGGER membership_counts_insert;
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

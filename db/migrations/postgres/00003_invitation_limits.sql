-- +goose Up
-- The per-organization cap on pending invitations is checked inside every
-- invite's write transaction. Counting the pending rows there would cost
-- O(pending) per invite, so triggers keep a running count instead: it
-- counts rows whose status is 'pending', expired or not, so it can only
-- overstate the live number. Below the cap one lookup settles it; at the
-- cap the live invitations are counted exactly (see db/limits.go).
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

-- The exact count at the cap, and the earliest expiry for Retry-After.
CREATE INDEX memberships_pending ON memberships (organization_id, expires) WHERE status = 'pending';

-- The rate limits (db/limits.go), shared by every node so that N nodes
-- enforce one limit, not N: per limit and key, the theoretical arrival
-- time of the next event (GCRA), in Unix nanoseconds. A row whose time has
-- passed says nothing the absence of a row does not, and is swept.
CREATE TABLE rate_limits (
    name text   NOT NULL,                      -- which limit: invite, organization, signup
    key  text   NOT NULL,                      -- whom it counts: a user, a client address
    tat  bigint NOT NULL,
    PRIMARY KEY (name, key)
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- +goose Down
DROP TABLE rate_limits;
DROP INDEX memberships_pending;
DROP TRIGGER pending_counts_update ON memberships;
DROP TRIGGER pending_counts_delete ON memberships;
DROP TRIGGER pending_counts_insert ON memberships;
DROP TRIGGER pending_counts_organization ON organizations;
DROP FUNCTION pending_counts_membership();
DROP FUNCTION pending_counts_organization();
DROP TABLE pending_invitation_counts;

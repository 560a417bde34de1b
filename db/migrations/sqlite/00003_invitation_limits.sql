-- +goose Up
-- The per-organization cap on pending invitations is checked inside every
-- invite's write transaction. Counting the pending rows there would cost
-- O(pending) per invite, so triggers keep a running count instead: it
-- counts rows whose status is 'pending', expired or not, so it can only
-- overstate the live number. Below the cap one lookup settles it; at the
-- cap the live invitations are counted exactly (see db/limits.go).
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

-- The exact count at the cap, and the earliest expiry for Retry-After.
CREATE INDEX memberships_pending ON memberships (organization_id, expires) WHERE status = 'pending';

-- +goose Down
DROP INDEX memberships_pending;
DROP TRIGGER pending_counts_update;
DROP TRIGGER pending_counts_delete;
DROP TRIGGER pending_counts_insert;
DROP TRIGGER pending_counts_organization;
DROP TABLE pending_invitation_counts;

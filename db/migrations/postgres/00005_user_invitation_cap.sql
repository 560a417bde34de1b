-- +goose Up
-- The cap on the open invitations one user holds is checked inside every
-- invite's write transaction by counting that user's live invitations, up
-- to the cap (see db/limits.go). This index makes the count cost at most
-- the cap, however many memberships the user has.
CREATE INDEX memberships_user_pending ON memberships (user_id, expires) WHERE status = 'pending';

-- +goose Down
DROP INDEX memberships_user_pending;

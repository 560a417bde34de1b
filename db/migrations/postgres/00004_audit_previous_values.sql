-- +goose Up
-- The audit trail says what a change replaced: the role before a role
-- change or an ownership transfer, the name before a rename. Both columns
-- default to '' (not recorded), which is what every earlier event gets.
ALTER TABLE audit_events ADD COLUMN old_role text NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN old_name text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN old_name;
ALTER TABLE audit_events DROP COLUMN old_role;

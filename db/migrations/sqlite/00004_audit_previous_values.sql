-- +goose Up
-- The audit trail says what a change replaced: the role before a role
-- change or an ownership transfer, the name before a rename. Both columns
-- default to '' (not recorded), which is what every earlier event gets:
-- adding them rewrites no row, so this is safe on any existing database.
ALTER TABLE audit_events ADD COLUMN old_role TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN old_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN old_name;
ALTER TABLE audit_events DROP COLUMN old_role;

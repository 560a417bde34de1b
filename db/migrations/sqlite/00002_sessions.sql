-- +goose Up
-- Sign-in sessions for the web pages. The cookie carries a signed random id;
-- only its SHA-256 is stored here, so a copy of the database cannot be
-- replayed as cookies.
CREATE TABLE sessions (
    id_hash   BLOB    PRIMARY KEY,               -- SHA-256 of the random session id
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created   INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,                  -- for the idle timeout; written at most once a minute
    expires   INTEGER NOT NULL,                  -- absolute expiry, fixed at sign-in
    data      BLOB    NOT NULL DEFAULT x''       -- the session's other values (flash messages), gob-encoded
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires);
CREATE INDEX sessions_last_seen ON sessions (last_seen);

-- Keys that sign session cookies when GUILDHALL_SESSION_KEYS is not set:
-- generated once, kept here so a restart keeps people signed in.
CREATE TABLE session_keys (
    id      INTEGER PRIMARY KEY,
    key     BLOB    NOT NULL,
    created INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE session_keys;
DROP TABLE sessions;

-- +goose Up
-- Times are Unix seconds (UTC). Tables are STRICT so a wrong type is an error,
-- not a silent coercion.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,            -- argon2id PHC string
    admin         INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title     TEXT    NOT NULL,
    key_hash  BLOB    NOT NULL UNIQUE,         -- SHA-256 of the key; the key itself is never stored
    preview   TEXT    NOT NULL,                -- "sk-..." plus the last four characters
    created   INTEGER NOT NULL,
    last_used INTEGER                          -- NULL until first use; updated at most once a minute
) STRICT;
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created     INTEGER NOT NULL
) STRICT;

-- One row per organization and user: an open invitation (pending) or an
-- accepted membership (active). The UNIQUE constraint is what makes a second
-- invitation of the same user a conflict, even under racing requests.
CREATE TABLE memberships (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'active')),
    sender_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created         INTEGER NOT NULL,
    expires         INTEGER,                   -- pending only
    accepted        INTEGER,                   -- active only
    UNIQUE (organization_id, user_id),
    CHECK ((status = 'pending') = (expires IS NOT NULL)),
    CHECK ((status = 'active') = (accepted IS NOT NULL))
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    time            INTEGER NOT NULL,
    actor           TEXT    NOT NULL,          -- usernames as they were, so the trail outlives accounts
    action          TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_events_org ON audit_events (organization_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE memberships;
DROP TABLE organizations;
DROP TABLE api_keys;
DROP TABLE users;

-- +goose Up
-- Sign-in tokens from login and add_user, as QueryLake's clients expect
-- them. Like sessions, only the SHA-256 of a token is stored; every node
-- reads the same rows, so a token from one node signs in on all.
CREATE TABLE auth_tokens (
    id_hash bytea  PRIMARY KEY,                  -- SHA-256 of the token
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created bigint NOT NULL,
    expires bigint NOT NULL
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expires ON auth_tokens (expires);

-- Idempotent writes: one row per user and Idempotency-Key. A request
-- claims its key in one transaction (status NULL: running, until
-- lease_until), then writes its answer in the same transaction as the
-- operation's own writes, so a crash can never leave a write without its
-- answer. Arguments and answers exclude credentials: fingerprint is the
-- SHA-256 of the function and its arguments without auth. Shared by every
-- node: a retry sent to another node gets the same answer.
CREATE TABLE idempotency_keys (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         text   COLLATE "C" NOT NULL,     -- the client's Idempotency-Key
    fingerprint bytea  NOT NULL,
    claim       bytea  NOT NULL,                 -- random: which attempt holds the key
    lease_until bigint NOT NULL,                 -- a running claim older than this was abandoned
    status      integer,                         -- the answer's HTTP status; NULL while running
    body        bytea,                           -- the answer's body; NULL while running
    created     bigint NOT NULL,
    expires     bigint NOT NULL,                 -- kept for retries until then
    PRIMARY KEY (user_id, key),
    CHECK ((status IS NULL) = (body IS NULL))
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE auth_tokens;

-- Enterprises, their authorizations (授权前置) and the records of queries about
-- them (RRS-1 §6). Keep in step with ../sqlite/0010_policy.sql.

CREATE TABLE enterprises (
    uscc       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    suite      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE authorizations (
    id                  TEXT PRIMARY KEY,
    enterprise          TEXT NOT NULL,
    grantee             TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    scope               TEXT NOT NULL,
    not_before          TIMESTAMPTZ NOT NULL,
    not_after           TIMESTAMPTZ NOT NULL,
    document            BYTEA NOT NULL,
    digest              BYTEA NOT NULL UNIQUE,
    key_id              TEXT NOT NULL,
    registered_at       TIMESTAMPTZ NOT NULL,
    log_index           BIGINT NOT NULL,
    revoked_at          TIMESTAMPTZ,
    revocation_document BYTEA,
    revoke_log_index    BIGINT
);
CREATE INDEX authorizations_enterprise ON authorizations (enterprise, registered_at, id);

CREATE TABLE query_records (
    id               TEXT PRIMARY KEY,
    enterprise       TEXT NOT NULL,
    institution      TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    scope            TEXT NOT NULL,
    authorization_id TEXT NOT NULL,
    granted          BOOLEAN NOT NULL,
    reason           TEXT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    log_index        BIGINT NOT NULL
);
CREATE INDEX query_records_enterprise ON query_records (enterprise, at, id);

-- Enterprises, their authorizations (授权前置) and the records of queries about
-- them (RRS-1 §6). Keep in step with ../postgres/0010_policy.sql.

CREATE TABLE enterprises (
    uscc       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    suite      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE authorizations (
    id                  TEXT PRIMARY KEY,
    enterprise          TEXT NOT NULL,
    grantee             TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    scope               TEXT NOT NULL,
    not_before          TEXT NOT NULL,
    not_after           TEXT NOT NULL,
    document            BLOB NOT NULL,
    digest              BLOB NOT NULL UNIQUE,
    key_id              TEXT NOT NULL,
    registered_at       TEXT NOT NULL,
    log_index           INTEGER NOT NULL,
    revoked_at          TEXT,
    revocation_document BLOB,
    revoke_log_index    INTEGER
) STRICT;
CREATE INDEX authorizations_enterprise ON authorizations (enterprise, registered_at, id);

CREATE TABLE query_records (
    id               TEXT PRIMARY KEY,
    enterprise       TEXT NOT NULL,
    institution      TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    scope            TEXT NOT NULL,
    authorization_id TEXT NOT NULL,
    granted          INTEGER NOT NULL CHECK (granted IN (0, 1)),
    reason           TEXT NOT NULL,
    at               TEXT NOT NULL,
    log_index        INTEGER NOT NULL
) STRICT;
CREATE INDEX query_records_enterprise ON query_records (enterprise, at, id);

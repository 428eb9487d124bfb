-- Institutions, their keys and certificates, submissions and mailboxes.
-- Keep in step with ../sqlite/0001_init.sql: same tables, columns and indexes.

CREATE TABLE institutions (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    suite          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    max_file_bytes BIGINT NOT NULL CHECK (max_file_bytes >= 0),
    quota_bytes    BIGINT NOT NULL CHECK (quota_bytes >= 0),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX institutions_kind ON institutions (kind, code);

-- A key ID is the fingerprint of the public key, so it is unique across
-- owners: one key belongs to one party.
CREATE TABLE party_keys (
    id             TEXT PRIMARY KEY,
    owner          TEXT NOT NULL,
    suite          TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    valid_from     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoke_reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX party_keys_owner ON party_keys (owner, valid_from, id);

CREATE TABLE certificates (
    serial     TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    not_before TIMESTAMPTZ NOT NULL,
    not_after  TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    pem        TEXT NOT NULL
);
CREATE INDEX certificates_owner ON certificates (owner);

CREATE TABLE submissions (
    tenant          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    manifest        BYTEA NOT NULL,
    manifest_digest BYTEA NOT NULL,
    signature       BYTEA NOT NULL,
    key_id          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('uploading', 'accepted')),
    total_bytes     BIGINT NOT NULL CHECK (total_bytes >= 0),
    created_at      TIMESTAMPTZ NOT NULL,
    accepted_at     TIMESTAMPTZ,
    log_index       BIGINT,
    receipt         BYTEA,
    PRIMARY KEY (tenant, message_id)
);
-- Serves ListSubmissions (newest first) and UsedBytes (since a time).
CREATE INDEX submissions_created ON submissions (tenant, created_at, message_id);

CREATE TABLE submission_files (
    tenant     TEXT NOT NULL,
    message_id TEXT NOT NULL,
    pos        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    size       BIGINT NOT NULL CHECK (size >= 0),
    digest     TEXT NOT NULL,
    upload_id  TEXT NOT NULL DEFAULT '',
    blob_key   TEXT NOT NULL DEFAULT '',
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant, message_id, name),
    UNIQUE (tenant, message_id, pos),
    FOREIGN KEY (tenant, message_id) REFERENCES submissions (tenant, message_id) ON DELETE CASCADE
);
-- One upload carries one file.
CREATE UNIQUE INDEX submission_files_upload ON submission_files (tenant, upload_id) WHERE upload_id <> '';

-- The per-tenant mailbox sequence. Taking the next number locks the
-- tenant's row until commit, so sequence order is commit order and a reader
-- paging with After never skips a message that commits late.
CREATE TABLE mailbox_counters (
    tenant   TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE mailbox (
    tenant        TEXT NOT NULL,
    id            TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    refers_to     TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL,
    body          BYTEA,
    digest        BYTEA NOT NULL,
    envelope      BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    log_index     BIGINT,
    acked_at      TIMESTAMPTZ,
    ack_signature BYTEA,
    ack_key_id    TEXT NOT NULL DEFAULT '',
    ack_log_index BIGINT,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, seq)
);
-- Message IDs are platform-assigned and unique for ever.
CREATE UNIQUE INDEX mailbox_id ON mailbox (id);
CREATE INDEX mailbox_unacked ON mailbox (tenant, seq) WHERE acked_at IS NULL;

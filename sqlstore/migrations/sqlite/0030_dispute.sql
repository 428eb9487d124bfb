-- Disputes (异议, RRS-1 §6): an enterprise's objection to data an institution
-- reported about it, open until a correction batch or the institution's
-- signed answer resolves it. Keep in step with ../postgres/0030_dispute.sql.

CREATE TABLE disputes (
    id                    TEXT PRIMARY KEY,
    enterprise            TEXT NOT NULL,
    institution           TEXT NOT NULL,
    from_date             TEXT NOT NULL,
    to_date               TEXT NOT NULL,
    record_class          TEXT NOT NULL CHECK (record_class IN ('TXN', 'BAL', 'ACCT')),
    currency              TEXT NOT NULL,
    reason                TEXT NOT NULL,
    document              BLOB NOT NULL,
    digest                BLOB NOT NULL UNIQUE,
    key_id                TEXT NOT NULL,
    registered_at         TEXT NOT NULL,
    log_index             INTEGER NOT NULL,
    deadline              TEXT NOT NULL,
    mailbox_id            TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    resolution            TEXT NOT NULL DEFAULT '',
    resolved_at           TEXT,
    resolve_log_index     INTEGER,
    correction_batch      TEXT NOT NULL DEFAULT '',
    correction_message_id TEXT NOT NULL DEFAULT '',
    answer_outcome        TEXT NOT NULL DEFAULT '',
    answer_text           TEXT NOT NULL DEFAULT '',
    answer_document       BLOB,
    answer_digest         BLOB,
    answer_key_id         TEXT NOT NULL DEFAULT '',
    answer_at             TEXT,
    CHECK (from_date <= to_date)
) STRICT;
CREATE INDEX disputes_enterprise ON disputes (enterprise, status, from_date);
CREATE INDEX disputes_institution ON disputes (institution, status, from_date);
CREATE INDEX disputes_enterprise_time ON disputes (enterprise, registered_at, id);
CREATE INDEX disputes_institution_time ON disputes (institution, registered_at, id);
CREATE INDEX disputes_deadline ON disputes (status, deadline);

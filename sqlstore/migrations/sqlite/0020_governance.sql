-- The governance loop (RRS-1 §3–§4): validation records, findings,
-- rectification tickets, P01 samples and the outbox of mailbox messages the
-- loop owes institutions. Keep in step with ../postgres/0020_governance.sql.

-- One row per checked batch version.
CREATE TABLE quality_batches (
    tenant         TEXT NOT NULL,
    batch          TEXT NOT NULL,
    bdate          TEXT NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq >= 1),
    status         TEXT NOT NULL CHECK (status IN ('running', 'retrying', 'failed', 'done')),
    phase          TEXT NOT NULL DEFAULT '',
    done           INTEGER NOT NULL DEFAULT 0,
    total          INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'accepted', 'accepted_with_warnings', 'rejected', 'superseded')),
    problems       TEXT NOT NULL DEFAULT '',
    errors         INTEGER NOT NULL DEFAULT 0,
    warnings       INTEGER NOT NULL DEFAULT 0,
    records        INTEGER NOT NULL DEFAULT 0,
    error_records  INTEGER NOT NULL DEFAULT 0,
    expected_bal   INTEGER NOT NULL DEFAULT 0,
    l10            INTEGER NOT NULL DEFAULT 0,
    checks         INTEGER NOT NULL DEFAULT 0,
    failed_checks  INTEGER NOT NULL DEFAULT 0,
    content_digest TEXT NOT NULL DEFAULT '',
    received_at    TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    PRIMARY KEY (tenant, batch)
) STRICT;
CREATE INDEX quality_batches_date ON quality_batches (bdate, tenant, seq);

-- Findings by batch; Source is the submission whose check produced them.
CREATE TABLE quality_findings (
    tenant    TEXT NOT NULL,
    batch     TEXT NOT NULL,
    rule      TEXT NOT NULL,
    severity  TEXT NOT NULL CHECK (severity IN ('E', 'W')),
    rtype     TEXT NOT NULL,
    rkey      TEXT NOT NULL,
    field     TEXT NOT NULL DEFAULT '',
    message   TEXT NOT NULL DEFAULT '',
    source    TEXT NOT NULL,
    ticket_id TEXT NOT NULL DEFAULT '',
    found_at  TEXT NOT NULL,
    PRIMARY KEY (tenant, batch, rule, rtype, rkey)
) STRICT;

CREATE TABLE quality_tickets (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    bdate       TEXT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('E', 'W')),
    rtype       TEXT NOT NULL,
    rkey        TEXT NOT NULL,
    field       TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL CHECK (state IN ('open', 'overdue', 'closed')),
    resolution  TEXT NOT NULL DEFAULT '' CHECK (resolution IN ('', 'corrected', 'confirmed')),
    first_batch TEXT NOT NULL,
    last_batch  TEXT NOT NULL,
    occurrences INTEGER NOT NULL CHECK (occurrences >= 1),
    opened_at   TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    overdue_at  TEXT,
    closed_at   TEXT,
    closed_by   TEXT NOT NULL DEFAULT '',
    answer      BLOB,
    answer_note TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL
) STRICT;
-- One ticket per finding identity while it is not closed.
CREATE UNIQUE INDEX quality_tickets_active ON quality_tickets (tenant, bdate, rule, rtype, rkey) WHERE state <> 'closed';
CREATE INDEX quality_tickets_date ON quality_tickets (tenant, bdate, state);
CREATE INDEX quality_tickets_due ON quality_tickets (state, due_at);

CREATE TABLE quality_samples (
    tenant         TEXT NOT NULL,
    batch          TEXT NOT NULL,
    seed           TEXT NOT NULL,
    confidence     REAL NOT NULL,
    tolerable_rate REAL NOT NULL,
    population     INTEGER NOT NULL,
    units          INTEGER NOT NULL DEFAULT 0,
    rows_drawn     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('not_required', 'requested', 'passed', 'failed', 'superseded')),
    requested_at   TEXT NOT NULL,
    due_date       TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    answer         TEXT NOT NULL DEFAULT '',
    answered_at    TEXT,
    mismatches     INTEGER NOT NULL DEFAULT 0,
    upper_bound    REAL NOT NULL DEFAULT 0,
    reason         TEXT NOT NULL DEFAULT '',
    decided_at     TEXT,
    version        INTEGER NOT NULL,
    PRIMARY KEY (tenant, batch)
) STRICT;
CREATE INDEX quality_samples_due ON quality_samples (status, due_at);

CREATE TABLE quality_outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    refers_to     TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL,
    body          BLOB,
    created_at    TEXT NOT NULL,
    claimed_until TEXT,
    message_id    TEXT,
    delivered_at  TEXT
) STRICT;
CREATE INDEX quality_outbox_pending ON quality_outbox (id) WHERE delivered_at IS NULL;
CREATE INDEX quality_outbox_ref ON quality_outbox (tenant, refers_to, id);

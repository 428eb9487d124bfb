-- The governance loop (RRS-1 §3–§4): validation records, findings,
-- rectification tickets, P01 samples and the outbox of mailbox messages the
-- loop owes institutions. Keep in step with ../sqlite/0020_governance.sql.

-- One row per checked batch version.
CREATE TABLE quality_batches (
    tenant         TEXT NOT NULL,
    batch          TEXT NOT NULL,
    bdate          TEXT NOT NULL,
    seq            BIGINT NOT NULL CHECK (seq >= 1),
    status         TEXT NOT NULL CHECK (status IN ('running', 'retrying', 'failed', 'done')),
    phase          TEXT NOT NULL DEFAULT '',
    done           BIGINT NOT NULL DEFAULT 0,
    total          BIGINT NOT NULL DEFAULT 0,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'accepted', 'accepted_with_warnings', 'rejected', 'superseded')),
    problems       TEXT NOT NULL DEFAULT '',
    errors         BIGINT NOT NULL DEFAULT 0,
    warnings       BIGINT NOT NULL DEFAULT 0,
    records        BIGINT NOT NULL DEFAULT 0,
    error_records  BIGINT NOT NULL DEFAULT 0,
    expected_bal   BIGINT NOT NULL DEFAULT 0,
    l10            BIGINT NOT NULL DEFAULT 0,
    checks         BIGINT NOT NULL DEFAULT 0,
    failed_checks  BIGINT NOT NULL DEFAULT 0,
    content_digest TEXT NOT NULL DEFAULT '',
    received_at    TIMESTAMPTZ NOT NULL,
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant, batch)
);
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
    found_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, batch, rule, rtype, rkey)
);

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
    occurrences BIGINT NOT NULL CHECK (occurrences >= 1),
    opened_at   TIMESTAMPTZ NOT NULL,
    due_date    TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    overdue_at  TIMESTAMPTZ,
    closed_at   TIMESTAMPTZ,
    closed_by   TEXT NOT NULL DEFAULT '',
    answer      BYTEA,
    answer_note TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL
);
-- One ticket per finding identity while it is not closed.
CREATE UNIQUE INDEX quality_tickets_active ON quality_tickets (tenant, bdate, rule, rtype, rkey) WHERE state <> 'closed';
CREATE INDEX quality_tickets_date ON quality_tickets (tenant, bdate, state);
CREATE INDEX quality_tickets_due ON quality_tickets (state, due_at);

CREATE TABLE quality_samples (
    tenant         TEXT NOT NULL,
    batch          TEXT NOT NULL,
    seed           TEXT NOT NULL,
    confidence     DOUBLE PRECISION NOT NULL,
    tolerable_rate DOUBLE PRECISION NOT NULL,
    population     BIGINT NOT NULL,
    units          BIGINT NOT NULL DEFAULT 0,
    rows_drawn     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('not_required', 'requested', 'passed', 'failed', 'superseded')),
    requested_at   TIMESTAMPTZ NOT NULL,
    due_date       TEXT NOT NULL,
    due_at         TIMESTAMPTZ NOT NULL,
    answer         TEXT NOT NULL DEFAULT '',
    answered_at    TIMESTAMPTZ,
    mismatches     BIGINT NOT NULL DEFAULT 0,
    upper_bound    DOUBLE PRECISION NOT NULL DEFAULT 0,
    reason         TEXT NOT NULL DEFAULT '',
    decided_at     TIMESTAMPTZ,
    version        BIGINT NOT NULL,
    PRIMARY KEY (tenant, batch)
);
CREATE INDEX quality_samples_due ON quality_samples (status, due_at);

CREATE TABLE quality_outbox (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    refers_to     TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL,
    body          BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ,
    message_id    TEXT,
    delivered_at  TIMESTAMPTZ
);
CREATE INDEX quality_outbox_pending ON quality_outbox (id) WHERE delivered_at IS NULL;
CREATE INDEX quality_outbox_ref ON quality_outbox (tenant, refers_to, id);

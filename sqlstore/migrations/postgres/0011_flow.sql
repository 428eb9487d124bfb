-- Aggregates for the enterprise flow report (RRS-1 §5), maintained as batches
-- are accepted and corrected. Keep in step with ../sqlite/0011_flow.sql.

-- The batch version each (institution, date) slice comes from.
CREATE TABLE flow_days (
    inst       TEXT NOT NULL,
    bdate      TEXT NOT NULL,
    batch      TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    message_id TEXT NOT NULL,
    log_index  BIGINT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (inst, bdate)
);

CREATE TABLE flow_accounts (
    uscc       TEXT NOT NULL,
    acct_key   TEXT NOT NULL,
    inst       TEXT NOT NULL,
    acct_type  TEXT NOT NULL,
    currency   TEXT NOT NULL,
    open_date  TEXT NOT NULL,
    close_date TEXT NOT NULL,
    bdate      TEXT NOT NULL,
    PRIMARY KEY (uscc, acct_key)
);
CREATE INDEX flow_accounts_key ON flow_accounts (acct_key);

CREATE TABLE flow_cells (
    uscc        TEXT NOT NULL,
    bdate       TEXT NOT NULL,
    inst        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    cp_key      TEXT NOT NULL,
    cp_acct_key TEXT NOT NULL,
    cp_is_self  BOOLEAN NOT NULL,
    inflow      BIGINT NOT NULL,
    outflow     BIGINT NOT NULL,
    in_count    BIGINT NOT NULL,
    out_count   BIGINT NOT NULL,
    sal_out     BIGINT NOT NULL,
    tax_out     BIGINT NOT NULL,
    utl_out     BIGINT NOT NULL,
    round_in    BIGINT NOT NULL
);
CREATE INDEX flow_cells_uscc ON flow_cells (uscc, bdate);
CREATE INDEX flow_cells_slice ON flow_cells (inst, bdate);

CREATE TABLE flow_balances (
    uscc      TEXT NOT NULL,
    bdate     TEXT NOT NULL,
    inst      TEXT NOT NULL,
    acct_key  TEXT NOT NULL,
    currency  TEXT NOT NULL,
    close_bal BIGINT NOT NULL,
    master    BOOLEAN NOT NULL
);
CREATE INDEX flow_balances_uscc ON flow_balances (uscc, bdate);
CREATE INDEX flow_balances_slice ON flow_balances (inst, bdate);

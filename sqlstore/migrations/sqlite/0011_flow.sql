-- Aggregates for the enterprise flow report (RRS-1 §5), maintained as batches
-- are accepted and corrected. Keep in step with ../postgres/0011_flow.sql.

-- The batch version each (institution, date) slice comes from.
CREATE TABLE flow_days (
    inst       TEXT NOT NULL,
    bdate      TEXT NOT NULL,
    batch      TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    log_index  INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (inst, bdate)
) STRICT;

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
) STRICT;
CREATE INDEX flow_accounts_key ON flow_accounts (acct_key);

CREATE TABLE flow_cells (
    uscc        TEXT NOT NULL,
    bdate       TEXT NOT NULL,
    inst        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    cp_key      TEXT NOT NULL,
    cp_acct_key TEXT NOT NULL,
    cp_is_self  INTEGER NOT NULL CHECK (cp_is_self IN (0, 1)),
    inflow      INTEGER NOT NULL,
    outflow     INTEGER NOT NULL,
    in_count    INTEGER NOT NULL,
    out_count   INTEGER NOT NULL,
    sal_out     INTEGER NOT NULL,
    tax_out     INTEGER NOT NULL,
    utl_out     INTEGER NOT NULL,
    round_in    INTEGER NOT NULL
) STRICT;
CREATE INDEX flow_cells_uscc ON flow_cells (uscc, bdate);
CREATE INDEX flow_cells_slice ON flow_cells (inst, bdate);

CREATE TABLE flow_balances (
    uscc      TEXT NOT NULL,
    bdate     TEXT NOT NULL,
    inst      TEXT NOT NULL,
    acct_key  TEXT NOT NULL,
    currency  TEXT NOT NULL,
    close_bal INTEGER NOT NULL,
    master    INTEGER NOT NULL CHECK (master IN (0, 1))
) STRICT;
CREATE INDEX flow_balances_uscc ON flow_balances (uscc, bdate);
CREATE INDEX flow_balances_slice ON flow_balances (inst, bdate);

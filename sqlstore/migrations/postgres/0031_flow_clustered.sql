-- The flow report reads one enterprise's cells and balances over up to 24
-- months. A primary key on (uscc, bdate, …) serves that read as one index
-- range in the order the report wants, with no sort; the as-of time is read
-- per month (flow_applied), or for other ranges from an index that covers
-- it. Keep in step with ../sqlite/0031_flow_clustered.sql.

CREATE TABLE flow_cells_clustered (
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
    round_in    BIGINT NOT NULL,
    PRIMARY KEY (uscc, bdate, inst, currency, cp_key, cp_acct_key, cp_is_self)
);
INSERT INTO flow_cells_clustered
    SELECT uscc, bdate, inst, currency, cp_key, cp_acct_key, cp_is_self, sum(inflow), sum(outflow), sum(in_count),
           sum(out_count), sum(sal_out), sum(tax_out), sum(utl_out), sum(round_in)
    FROM flow_cells GROUP BY uscc, bdate, inst, currency, cp_key, cp_acct_key, cp_is_self;
DROP TABLE flow_cells;
ALTER TABLE flow_cells_clustered RENAME TO flow_cells;
CREATE INDEX flow_cells_slice ON flow_cells (inst, bdate);

CREATE TABLE flow_balances_clustered (
    uscc      TEXT NOT NULL,
    bdate     TEXT NOT NULL,
    inst      TEXT NOT NULL,
    acct_key  TEXT NOT NULL,
    currency  TEXT NOT NULL,
    close_bal BIGINT NOT NULL,
    master    BOOLEAN NOT NULL,
    PRIMARY KEY (uscc, bdate, inst, acct_key, currency)
);
INSERT INTO flow_balances_clustered
    SELECT uscc, bdate, inst, acct_key, currency, sum(close_bal), bool_or(master)
    FROM flow_balances GROUP BY uscc, bdate, inst, acct_key, currency;
DROP TABLE flow_balances;
ALTER TABLE flow_balances_clustered RENAME TO flow_balances;
CREATE INDEX flow_balances_slice ON flow_balances (inst, bdate);

-- The latest application per institution and month: a report's as-of time
-- over whole months, maintained by ReplaceFlowDay.
CREATE TABLE flow_applied (
    inst       TEXT NOT NULL,
    month      TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (inst, month)
);
INSERT INTO flow_applied SELECT inst, substr(bdate, 1, 7), max(applied_at) FROM flow_days GROUP BY inst, substr(bdate, 1, 7);
CREATE INDEX flow_days_applied ON flow_days (inst, bdate, applied_at);

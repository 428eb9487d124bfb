-- UsedBytes (the daily quota check on every manifest) summed total_bytes over
-- every submission of the tenant's last 24 hours: an index scan that grows
-- with the tenant's daily volume. CreateSubmission now also adds each
-- submission's bytes to its tenant's minute here, in the same transaction;
-- UsedBytes sums at most 1,441 minutes and reads submissions only for the
-- partial minute at the window's start.
CREATE TABLE submission_usage (
    tenant TEXT        NOT NULL,
    minute TIMESTAMPTZ NOT NULL,
    bytes  BIGINT      NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (tenant, minute)
);

INSERT INTO submission_usage (tenant, minute, bytes)
    SELECT tenant, date_trunc('minute', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', SUM(total_bytes)
    FROM submissions GROUP BY 1, 2;

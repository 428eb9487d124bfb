-- UncheckedSubmissions (governance's ordering check, run for every batch's
-- check and again each time a check waits for an earlier batch) reads every
-- accepted submission of a tenant named for the business dates in question
-- and looks for its finished validation record. With only the primary keys
-- it read each submission's table row (rows carry the manifest and receipt)
-- for its status: the small-message benchmark, all of whose batches share
-- one date, read 3,750 such rows per call at 30,000 submissions (6 ms in the
-- sqlite3 shell), more with each submission. This index covers the
-- submissions side (under 1 ms); SQLite looks the records up by their
-- primary key whatever other index there is.
CREATE INDEX submissions_status ON submissions (tenant, message_id) INCLUDE (status);
-- Before that, the same lookup finds the tenant's latest date before the
-- batch's with a finished check. quality_batches_date (bdate, tenant, seq)
-- does not serve it: it read all the tenant's records and sorted them.
CREATE INDEX quality_batches_tenant_date ON quality_batches (tenant, bdate) INCLUDE (status);

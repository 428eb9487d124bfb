-- The peer of `ronghe validate` in bench/validate.sh: hand-written DuckDB SQL
-- that checks the RRS-1 §3 rules L01–L10, S01–S03, C01–C06 and T01–T03 one
-- query per rule, each reading the CSV files it needs straight from disk
-- (read_csv, all values VARCHAR), the way an analyst would write them.
--
-- bench/cmd/validatepeer runs it. It provides, before the first query:
--   csv_acct(), csv_txn(), csv_bal(), csv_gl(), csv_stat(), csv_fxp(), csv_ctl()
--       table macros: read_csv of <root>/*/<TYPE>.csv with the header's
--       columns (canonical order) and the batch name as column `batch`
--   sender(batch), bdate(batch)   the batch name's institution and date
--   iso4217(code), iso3166(code)  the ISO lists of rrs
--   rrs_uscc_ok(v), rrs_resident_id_ok(v)   rrs's check-digit functions (UDFs)
-- Every query returns (rule, batch, type, key). Simplifications against the
-- engine (a performance peer, not a second implementation): keys of rows
-- with a malformed key are the raw values, not '#<line>'; no stored history
-- and no correction batches (the run is every batch at once, ordered by
-- business date); CSV headers in the canonical order.

-- rule: L01
SELECT 'L01' AS rule, batch, 'ACCT' AS type, acct_no AS key FROM csv_acct()
WHERE inst_code IS NULL OR acct_no IS NULL OR acct_type IS NULL OR subject_code IS NULL OR uscc IS NULL
   OR holder_name IS NULL OR currency IS NULL OR open_date IS NULL OR status IS NULL
UNION ALL
SELECT 'L01', batch, 'TXN', txn_id FROM csv_txn()
WHERE inst_code IS NULL OR acct_no IS NULL OR txn_id IS NULL OR txn_date IS NULL OR txn_time IS NULL
   OR txn_seq IS NULL OR dc_flag IS NULL OR amount IS NULL OR currency IS NULL OR balance IS NULL
   OR channel IS NULL OR purpose IS NULL
UNION ALL
SELECT 'L01', batch, 'BAL', acct_no || '|' || bal_date FROM csv_bal()
WHERE inst_code IS NULL OR acct_no IS NULL OR bal_date IS NULL OR currency IS NULL OR open_bal IS NULL
   OR close_bal IS NULL OR debit_total IS NULL OR credit_total IS NULL OR debit_count IS NULL OR credit_count IS NULL
UNION ALL
SELECT 'L01', batch, 'GL', subject_code || '|' || currency FROM csv_gl()
WHERE inst_code IS NULL OR gl_date IS NULL OR subject_code IS NULL OR currency IS NULL OR balance IS NULL
UNION ALL
SELECT 'L01', batch, 'STAT', item_code || '|' || currency FROM csv_stat()
WHERE inst_code IS NULL OR period IS NULL OR item_code IS NULL OR currency IS NULL OR value IS NULL
UNION ALL
SELECT 'L01', batch, 'FXP', txn_id FROM csv_fxp()
WHERE inst_code IS NULL OR txn_id IS NULL OR txn_date IS NULL OR person_id IS NULL OR person_name IS NULL
   OR currency IS NULL OR amount IS NULL OR amount_usd IS NULL OR purpose IS NULL OR bene_name IS NULL
   OR bene_acct IS NULL OR bene_country IS NULL
UNION ALL
SELECT 'L01', batch, 'CTL', file FROM csv_ctl() WHERE file IS NULL OR record_count IS NULL;

-- rule: L02
SELECT 'L02' AS rule, batch, 'ACCT' AS type, acct_no AS key FROM csv_acct()
WHERE length(inst_code) <> 14 OR NOT regexp_full_match(acct_no, '[0-9]{6,32}')
   OR NOT regexp_full_match(parent_acct_no, '[0-9]{6,32}') OR length(uscc) <> 18
   OR length(holder_name) > 100 OR NOT regexp_full_match(currency, '[A-Za-z]{3}')
   OR TRY_CAST(open_date AS DATE) IS NULL AND open_date IS NOT NULL
   OR TRY_CAST(close_date AS DATE) IS NULL AND close_date IS NOT NULL
UNION ALL
SELECT 'L02', batch, 'TXN', txn_id FROM csv_txn()
WHERE length(inst_code) <> 14 OR NOT regexp_full_match(acct_no, '[0-9]{6,32}') OR length(txn_id) > 40
   OR TRY_CAST(txn_date AS DATE) IS NULL AND txn_date IS NOT NULL
   OR NOT regexp_full_match(txn_time, '([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]')
   OR NOT regexp_full_match(txn_seq, '-?[0-9]{1,18}')
   OR NOT regexp_full_match(amount, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(balance, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(currency, '[A-Za-z]{3}') OR length(cp_acct_no) > 64 OR length(cp_name) > 200
   OR length(cp_inst_code) <> 14 OR length(cp_uscc) <> 18 OR length(remark) > 200
UNION ALL
SELECT 'L02', batch, 'BAL', acct_no || '|' || bal_date FROM csv_bal()
WHERE length(inst_code) <> 14 OR NOT regexp_full_match(acct_no, '[0-9]{6,32}')
   OR TRY_CAST(bal_date AS DATE) IS NULL AND bal_date IS NOT NULL
   OR NOT regexp_full_match(currency, '[A-Za-z]{3}')
   OR NOT regexp_full_match(open_bal, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(close_bal, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(debit_total, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(credit_total, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(debit_count, '-?[0-9]{1,18}') OR NOT regexp_full_match(credit_count, '-?[0-9]{1,18}')
UNION ALL
SELECT 'L02', batch, 'GL', subject_code || '|' || currency FROM csv_gl()
WHERE length(inst_code) <> 14 OR TRY_CAST(gl_date AS DATE) IS NULL AND gl_date IS NOT NULL
   OR NOT regexp_full_match(currency, '[A-Za-z]{3}') OR NOT regexp_full_match(balance, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
UNION ALL
SELECT 'L02', batch, 'STAT', item_code || '|' || currency FROM csv_stat()
WHERE length(inst_code) <> 14 OR NOT regexp_full_match(period, '[0-9]{4}-(0[1-9]|1[0-2])')
   OR NOT regexp_full_match(currency, '[A-Za-z]{3}') OR NOT regexp_full_match(value, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
UNION ALL
SELECT 'L02', batch, 'FXP', txn_id FROM csv_fxp()
WHERE length(inst_code) <> 14 OR length(txn_id) > 40 OR TRY_CAST(txn_date AS DATE) IS NULL AND txn_date IS NOT NULL
   OR length(person_id) <> 18 OR length(person_name) > 100 OR NOT regexp_full_match(currency, '[A-Za-z]{3}')
   OR NOT regexp_full_match(amount, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(amount_usd, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR length(bene_name) > 200 OR length(bene_acct) > 64 OR NOT regexp_full_match(bene_country, '[A-Za-z]{2}')
UNION ALL
SELECT 'L02', batch, 'CTL', file FROM csv_ctl()
WHERE NOT regexp_full_match(record_count, '-?[0-9]{1,18}')
   OR NOT regexp_full_match(amount_sum, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(debit_sum, '-?[0-9]{1,16}(\.[0-9]{1,2})?')
   OR NOT regexp_full_match(credit_sum, '-?[0-9]{1,16}(\.[0-9]{1,2})?');

-- rule: L03
SELECT 'L03' AS rule, batch, 'ACCT' AS type, acct_no AS key FROM csv_acct()
WHERE length(uscc) = 18 AND NOT rrs_uscc_ok(uscc)
UNION ALL
SELECT 'L03', batch, 'TXN', txn_id FROM csv_txn() WHERE length(cp_uscc) = 18 AND NOT rrs_uscc_ok(cp_uscc);

-- rule: L04
SELECT 'L04' AS rule, batch, 'FXP' AS type, txn_id AS key FROM csv_fxp()
WHERE length(person_id) = 18 AND NOT rrs_resident_id_ok(person_id);

-- rule: L05
SELECT 'L05' AS rule, batch, 'ACCT' AS type, acct_no AS key FROM csv_acct() WHERE currency NOT IN (SELECT code FROM iso4217)
UNION ALL SELECT 'L05', batch, 'TXN', txn_id FROM csv_txn() WHERE currency NOT IN (SELECT code FROM iso4217)
UNION ALL SELECT 'L05', batch, 'BAL', acct_no || '|' || bal_date FROM csv_bal() WHERE currency NOT IN (SELECT code FROM iso4217)
UNION ALL SELECT 'L05', batch, 'GL', subject_code || '|' || currency FROM csv_gl() WHERE currency NOT IN (SELECT code FROM iso4217)
UNION ALL SELECT 'L05', batch, 'STAT', item_code || '|' || currency FROM csv_stat() WHERE currency NOT IN (SELECT code FROM iso4217)
UNION ALL SELECT 'L05', batch, 'FXP', txn_id FROM csv_fxp()
WHERE currency NOT IN (SELECT code FROM iso4217) OR currency = 'CNY' OR bene_country NOT IN (SELECT code FROM iso3166);

-- rule: L06
SELECT 'L06' AS rule, batch, 'ACCT' AS type, acct_no AS key FROM csv_acct()
WHERE acct_type NOT IN ('1', '2', '3', '4', '9') OR subject_code NOT IN ('D01', 'D02', 'D03') OR status NOT IN ('A', 'F', 'C')
UNION ALL
SELECT 'L06', batch, 'TXN', txn_id FROM csv_txn()
WHERE dc_flag NOT IN ('D', 'C') OR channel NOT IN ('01', '02', '03', '04', '05', '06', '99')
   OR purpose NOT IN ('SAL', 'TAX', 'UTL', 'GDS', 'LON', 'INT', 'TRF', 'CSH', 'OTH')
UNION ALL SELECT 'L06', batch, 'GL', subject_code || '|' || currency FROM csv_gl() WHERE subject_code NOT IN ('D01', 'D02', 'D03')
UNION ALL SELECT 'L06', batch, 'STAT', item_code || '|' || currency FROM csv_stat() WHERE item_code NOT IN ('D01', 'D02', 'D03')
UNION ALL SELECT 'L06', batch, 'FXP', txn_id FROM csv_fxp() WHERE purpose NOT IN ('TRV', 'STU', 'MED', 'REL', 'TRD', 'OTH')
UNION ALL SELECT 'L06', batch, 'CTL', file FROM csv_ctl() WHERE file NOT IN ('ACCT', 'TXN', 'BAL', 'GL', 'STAT', 'FXP');

-- rule: L07
WITH acct AS (SELECT batch, acct_no, any_value(currency) AS currency FROM csv_acct() GROUP BY ALL)
SELECT 'L07' AS rule, t.batch, 'TXN' AS type, t.txn_id AS key FROM csv_txn() t LEFT JOIN acct a ON a.batch = t.batch AND a.acct_no = t.acct_no
WHERE TRY_CAST(t.amount AS DECIMAL(18, 2)) <= 0 OR TRY_CAST(t.txn_date AS DATE) <> bdate(t.batch) OR t.currency <> a.currency
UNION ALL
SELECT 'L07', batch, 'BAL', acct_no || '|' || bal_date FROM csv_bal()
WHERE TRY_CAST(bal_date AS DATE) <> bdate(batch) OR TRY_CAST(debit_total AS DECIMAL(18, 2)) < 0
   OR TRY_CAST(credit_total AS DECIMAL(18, 2)) < 0 OR TRY_CAST(debit_count AS BIGINT) < 0 OR TRY_CAST(credit_count AS BIGINT) < 0
UNION ALL
SELECT 'L07', batch, 'GL', subject_code || '|' || currency FROM csv_gl() WHERE TRY_CAST(gl_date AS DATE) <> bdate(batch)
UNION ALL
SELECT 'L07', batch, 'STAT', item_code || '|' || currency FROM csv_stat() WHERE period <> strftime(bdate(batch), '%Y-%m')
UNION ALL
SELECT 'L07', batch, 'FXP', txn_id FROM csv_fxp()
WHERE TRY_CAST(txn_date AS DATE) <> bdate(batch) OR TRY_CAST(amount AS DECIMAL(18, 2)) <= 0 OR TRY_CAST(amount_usd AS DECIMAL(18, 2)) <= 0
UNION ALL
SELECT 'L07', batch, 'ACCT', acct_no FROM csv_acct()
WHERE TRY_CAST(open_date AS DATE) > bdate(batch) OR TRY_CAST(close_date AS DATE) > bdate(batch)
   OR TRY_CAST(close_date AS DATE) < TRY_CAST(open_date AS DATE)
UNION ALL
SELECT 'L07', batch, 'CTL', file FROM csv_ctl() WHERE TRY_CAST(record_count AS BIGINT) < 0;

-- rule: L08
WITH ids AS (SELECT batch, sender(batch) AS inst, bdate(batch) AS d, txn_id FROM csv_txn() WHERE txn_id IS NOT NULL),
c AS (SELECT inst, txn_id, batch, d, count(*) AS n FROM ids GROUP BY ALL),
w AS (SELECT *, min(d) OVER (PARTITION BY inst, txn_id) AS first_d FROM c)
SELECT 'L08' AS rule, batch, 'TXN' AS type, txn_id AS key FROM w WHERE n > 1 OR d > first_d
UNION ALL
SELECT 'L08', batch, 'ACCT', acct_no FROM csv_acct() WHERE acct_no IS NOT NULL GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'L08', batch, 'BAL', acct_no || '|' || bal_date FROM csv_bal() WHERE acct_no IS NOT NULL GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'L08', batch, 'GL', subject_code || '|' || currency FROM csv_gl() GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'L08', batch, 'FXP', txn_id FROM csv_fxp() GROUP BY ALL HAVING count(*) > 1;

-- rule: L09
WITH acct AS (SELECT DISTINCT batch, acct_no, acct_type FROM csv_acct())
SELECT 'L09' AS rule, batch, 'ACCT' AS type, acct_no AS key FROM csv_acct() WHERE inst_code <> sender(batch)
UNION ALL SELECT 'L09', batch, 'BAL', acct_no || '|' || bal_date FROM csv_bal() WHERE inst_code <> sender(batch)
UNION ALL SELECT 'L09', batch, 'GL', subject_code || '|' || currency FROM csv_gl() WHERE inst_code <> sender(batch)
UNION ALL SELECT 'L09', batch, 'STAT', item_code || '|' || currency FROM csv_stat() WHERE inst_code <> sender(batch)
UNION ALL SELECT 'L09', batch, 'FXP', txn_id FROM csv_fxp() WHERE inst_code <> sender(batch)
UNION ALL
SELECT 'L09', t.batch, 'TXN', t.txn_id FROM csv_txn() t LEFT JOIN acct a ON a.batch = t.batch AND a.acct_no = t.acct_no
WHERE t.inst_code <> sender(t.batch) OR a.acct_no IS NULL
UNION ALL
SELECT 'L09', x.batch, 'BAL', x.acct_no || '|' || x.bal_date FROM csv_bal() x ANTI JOIN acct a ON a.batch = x.batch AND a.acct_no = x.acct_no
UNION ALL
SELECT 'L09', s.batch, 'ACCT', s.acct_no FROM csv_acct() s LEFT JOIN acct p ON p.batch = s.batch AND p.acct_no = s.parent_acct_no
WHERE s.parent_acct_no IS NOT NULL AND (p.acct_no IS NULL OR p.acct_type <> '9');

-- rule: L10
SELECT 'L10' AS rule, a.batch, 'ACCT' AS type, a.acct_no AS key FROM csv_acct() a
ANTI JOIN (SELECT batch, acct_no FROM csv_bal()) x ON x.batch = a.batch AND x.acct_no = a.acct_no
WHERE a.status IN ('A', 'F');

-- rule: S01
WITH acct AS (SELECT batch, acct_no, subject_code, currency, acct_type FROM csv_acct()),
acc AS (
  SELECT x.batch, a.subject_code, a.currency, sum(CAST(x.close_bal AS DECIMAL(18, 2))) AS total
  FROM csv_bal() x JOIN acct a ON a.batch = x.batch AND a.acct_no = x.acct_no
  WHERE a.acct_type <> '9' GROUP BY ALL),
gl AS (SELECT batch, subject_code, currency, CAST(balance AS DECIMAL(18, 2)) AS balance FROM csv_gl())
SELECT 'S01' AS rule, coalesce(g.batch, c.batch) AS batch, 'GL' AS type,
  coalesce(g.subject_code, c.subject_code) || '|' || coalesce(g.currency, c.currency) AS key
FROM acc c FULL JOIN gl g ON g.batch = c.batch AND g.subject_code = c.subject_code AND g.currency = c.currency
WHERE coalesce(g.balance, 0) <> coalesce(c.total, 0);

-- rule: S02
WITH acct AS (SELECT batch, acct_no, acct_type, parent_acct_no FROM csv_acct()),
bal AS (SELECT batch, acct_no, bal_date, CAST(close_bal AS DECIMAL(18, 2)) AS close_bal FROM csv_bal()),
subs AS (SELECT a.batch, a.parent_acct_no AS acct_no, sum(b.close_bal) AS total
         FROM acct a JOIN bal b ON b.batch = a.batch AND b.acct_no = a.acct_no WHERE a.parent_acct_no IS NOT NULL GROUP BY ALL)
SELECT 'S02' AS rule, b.batch, 'BAL' AS type, b.acct_no || '|' || b.bal_date AS key
FROM bal b JOIN acct a ON a.batch = b.batch AND a.acct_no = b.acct_no AND a.acct_type = '9'
LEFT JOIN subs s ON s.batch = b.batch AND s.acct_no = b.acct_no
WHERE b.close_bal <> coalesce(s.total, 0);

-- rule: S03
WITH t AS (
  SELECT batch, acct_no,
    sum(CAST(amount AS DECIMAL(18, 2))) FILTER (WHERE dc_flag = 'D') AS dt,
    sum(CAST(amount AS DECIMAL(18, 2))) FILTER (WHERE dc_flag = 'C') AS ct,
    count(*) FILTER (WHERE dc_flag = 'D') AS dn, count(*) FILTER (WHERE dc_flag = 'C') AS cn
  FROM csv_txn() GROUP BY ALL),
acct AS (SELECT batch, acct_no, acct_type FROM csv_acct())
SELECT 'S03' AS rule, b.batch, 'BAL' AS type, b.acct_no || '|' || b.bal_date AS key
FROM csv_bal() b LEFT JOIN t ON t.batch = b.batch AND t.acct_no = b.acct_no
LEFT JOIN acct a ON a.batch = b.batch AND a.acct_no = b.acct_no
WHERE a.acct_type IS DISTINCT FROM '9' AND (
  CAST(b.debit_total AS DECIMAL(18, 2)) <> coalesce(t.dt, 0) OR CAST(b.credit_total AS DECIMAL(18, 2)) <> coalesce(t.ct, 0)
  OR CAST(b.debit_count AS BIGINT) <> coalesce(t.dn, 0) OR CAST(b.credit_count AS BIGINT) <> coalesce(t.cn, 0));

-- rule: C01
WITH b AS (
  SELECT batch, sender(batch) AS inst, bdate(batch) AS d, acct_no, bal_date,
    CAST(open_bal AS DECIMAL(18, 2)) AS open_bal, CAST(close_bal AS DECIMAL(18, 2)) AS close_bal
  FROM csv_bal()),
w AS (SELECT *, lag(close_bal) OVER (PARTITION BY inst, acct_no ORDER BY d) AS prev FROM b),
acct AS (SELECT batch, acct_no, open_date FROM csv_acct())
SELECT 'C01' AS rule, w.batch, 'BAL' AS type, w.acct_no || '|' || w.bal_date AS key
FROM w LEFT JOIN acct a ON a.batch = w.batch AND a.acct_no = w.acct_no
WHERE CASE WHEN w.prev IS NOT NULL THEN w.prev <> w.open_bal
           ELSE TRY_CAST(a.open_date AS DATE) = w.d AND w.open_bal <> 0 END;

-- rule: C02
WITH acct AS (SELECT batch, acct_no, acct_type FROM csv_acct())
SELECT 'C02' AS rule, b.batch, 'BAL' AS type, b.acct_no || '|' || b.bal_date AS key
FROM csv_bal() b LEFT JOIN acct a ON a.batch = b.batch AND a.acct_no = b.acct_no
WHERE a.acct_type IS DISTINCT FROM '9'
  AND CAST(b.close_bal AS DECIMAL(18, 2)) <> CAST(b.open_bal AS DECIMAL(18, 2))
      + CAST(b.credit_total AS DECIMAL(18, 2)) - CAST(b.debit_total AS DECIMAL(18, 2));

-- rule: C03
WITH t AS (
  SELECT batch, acct_no, txn_id, CAST(txn_seq AS BIGINT) AS seq, CAST(balance AS DECIMAL(18, 2)) AS balance,
    CASE dc_flag WHEN 'C' THEN CAST(amount AS DECIMAL(18, 2)) ELSE -CAST(amount AS DECIMAL(18, 2)) END AS delta
  FROM csv_txn()),
w AS (
  SELECT *, lag(balance) OVER (PARTITION BY batch, acct_no ORDER BY seq) AS prev,
    row_number() OVER (PARTITION BY batch, acct_no ORDER BY seq DESC) AS from_end
  FROM t),
bal AS (SELECT batch, acct_no, bal_date, CAST(open_bal AS DECIMAL(18, 2)) AS open_bal, CAST(close_bal AS DECIMAL(18, 2)) AS close_bal FROM csv_bal())
SELECT 'C03' AS rule, w.batch, 'TXN' AS type, w.txn_id AS key
FROM w JOIN bal b ON b.batch = w.batch AND b.acct_no = w.acct_no
WHERE w.balance <> coalesce(w.prev, b.open_bal) + w.delta
UNION ALL
SELECT 'C03', w.batch, 'BAL', b.acct_no || '|' || b.bal_date
FROM w JOIN bal b ON b.batch = w.batch AND b.acct_no = w.acct_no
WHERE w.from_end = 1 AND w.balance <> b.close_bal;

-- rule: C04
SELECT 'C04' AS rule, batch, 'BAL' AS type, acct_no || '|' || strftime(bdate(batch), '%Y-%m-%d') AS key
FROM csv_txn()
GROUP BY batch, acct_no
HAVING min(CAST(txn_seq AS BIGINT)) <> 1 OR max(CAST(txn_seq AS BIGINT)) <> count(*)
    OR count(DISTINCT txn_seq) <> count(*);

-- rule: C05
WITH d AS (SELECT DISTINCT sender(batch) AS inst, bdate(batch) AS d, batch FROM csv_ctl()),
w AS (SELECT *, lag(d) OVER (PARTITION BY inst ORDER BY d) AS prev FROM d)
SELECT 'C05' AS rule, batch, 'BATCH' AS type, strftime(prev + 1, '%Y-%m-%d') AS key FROM w WHERE d - prev > 1;

-- rule: C06
WITH n AS (SELECT batch, sender(batch) AS inst, bdate(batch) AS d, count(*) AS rows FROM csv_txn() GROUP BY ALL),
w AS (SELECT *, sum(rows) OVER (PARTITION BY inst ORDER BY d ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING) AS s,
             count(*) OVER (PARTITION BY inst ORDER BY d ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING) AS k FROM n)
SELECT 'C06' AS rule, batch, 'BATCH' AS type, 'TXN' AS key FROM w WHERE k = 7 AND (35 * rows < s OR 7 * rows > 5 * s);

-- rule: T01
WITH files AS (
  SELECT batch, 'TXN' AS file, count(*) AS n, sum(CAST(amount AS DECIMAL(18, 2))) AS s,
    sum(CAST(amount AS DECIMAL(18, 2))) FILTER (WHERE dc_flag = 'D') AS ds, sum(CAST(amount AS DECIMAL(18, 2))) FILTER (WHERE dc_flag = 'C') AS cs
  FROM csv_txn() GROUP BY batch
  UNION ALL SELECT batch, 'ACCT', count(*), NULL, NULL, NULL FROM csv_acct() GROUP BY batch
  UNION ALL SELECT batch, 'BAL', count(*), sum(CAST(close_bal AS DECIMAL(18, 2))), NULL, NULL FROM csv_bal() GROUP BY batch
  UNION ALL SELECT batch, 'GL', count(*), sum(CAST(balance AS DECIMAL(18, 2))), NULL, NULL FROM csv_gl() GROUP BY batch
  UNION ALL SELECT batch, 'STAT', count(*), sum(CAST(value AS DECIMAL(18, 2))), NULL, NULL FROM csv_stat() GROUP BY batch
  UNION ALL SELECT batch, 'FXP', count(*), sum(CAST(amount_usd AS DECIMAL(18, 2))), NULL, NULL FROM csv_fxp() GROUP BY batch),
ctl AS (SELECT batch, file, CAST(record_count AS BIGINT) AS n, CAST(amount_sum AS DECIMAL(18, 2)) AS s,
               CAST(debit_sum AS DECIMAL(18, 2)) AS ds, CAST(credit_sum AS DECIMAL(18, 2)) AS cs FROM csv_ctl())
SELECT 'T01' AS rule, coalesce(f.batch, c.batch) AS batch, 'CTL' AS type, coalesce(f.file, c.file) AS key
FROM files f FULL JOIN ctl c ON c.batch = f.batch AND c.file = f.file
WHERE f.file IS NULL OR c.file IS NULL OR f.n <> c.n OR f.s IS DISTINCT FROM c.s OR f.ds IS DISTINCT FROM c.ds OR f.cs IS DISTINCT FROM c.cs;

-- rule: T02
WITH s AS (SELECT batch, item_code AS subject_code, currency, CAST(value AS DECIMAL(18, 2)) AS v FROM csv_stat()),
g AS (SELECT batch, subject_code, currency, CAST(balance AS DECIMAL(18, 2)) AS v FROM csv_gl()
      WHERE bdate(batch) = last_day(bdate(batch)))
SELECT 'T02' AS rule, coalesce(s.batch, g.batch) AS batch, 'STAT' AS type,
  coalesce(s.subject_code, g.subject_code) || '|' || coalesce(s.currency, g.currency) AS key
FROM s FULL JOIN g ON g.batch = s.batch AND g.subject_code = s.subject_code AND g.currency = s.currency
WHERE coalesce(s.v, 0) <> coalesce(g.v, 0);

-- rule: T03
WITH t AS (
  SELECT batch, sender(batch) AS inst, bdate(batch) AS d, cp_inst_code AS cp,
    sum(CAST(amount AS DECIMAL(18, 2))) FILTER (WHERE dc_flag = 'D') AS ds,
    sum(CAST(amount AS DECIMAL(18, 2))) FILTER (WHERE dc_flag = 'C') AS cs
  FROM csv_txn() WHERE cp_inst_code IS NOT NULL AND cp_inst_code <> sender(batch) GROUP BY ALL),
b AS (SELECT DISTINCT batch, sender(batch) AS inst, bdate(batch) AS d FROM csv_ctl()),
pairs AS (SELECT x.batch AS a_batch, x.inst AS a, y.batch AS b_batch, y.inst AS b FROM b x JOIN b y ON y.d = x.d AND y.inst > x.inst),
mis AS (
  SELECT p.* FROM pairs p
  LEFT JOIN t ab ON ab.batch = p.a_batch AND ab.cp = p.b
  LEFT JOIN t ba ON ba.batch = p.b_batch AND ba.cp = p.a
  WHERE coalesce(ab.ds, 0) <> coalesce(ba.cs, 0) OR coalesce(ab.cs, 0) <> coalesce(ba.ds, 0))
SELECT 'T03' AS rule, a_batch AS batch, 'BATCH' AS type, b AS key FROM mis
UNION ALL SELECT 'T03', b_batch, 'BATCH', a FROM mis;

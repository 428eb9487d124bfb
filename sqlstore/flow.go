package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

var _ ronghe.FlowStore = (*DB)(nil)

// flowInsertRows is how many rows one multi-row INSERT carries: few round
// trips, and well under both databases' parameter limits.
const flowInsertRows = 200

// ReplaceFlowDay replaces the aggregates of one institution and business date
// with day's, in one transaction, unless a newer batch version is applied.
func (db *DB) ReplaceFlowDay(ctx context.Context, day *ronghe.FlowDay) (bool, error) {
	if day == nil || !validCode(day.Inst) || len(day.Date) != 10 || day.Seq < 1 {
		return false, ronghe.Errorf(ronghe.EINVALID, "flow day needs an institution, a YYYY-MM-DD date and a batch sequence")
	}
	li, err := logIndexArg(day.LogIndex)
	if err != nil {
		return false, err
	}
	applied := false
	err = db.inTx(ctx, "replace flow day", func(c conn) error {
		var seq int
		err := c.queryRow(ctx, `SELECT seq FROM flow_days WHERE inst = ? AND bdate = ?`, day.Inst, day.Date).Scan(&seq)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case seq > day.Seq:
			return nil // a newer correction is already applied
		}
		for _, table := range []string{"flow_cells", "flow_balances"} {
			if _, err := c.exec(ctx, `DELETE FROM `+table+` WHERE inst = ? AND bdate = ?`, day.Inst, day.Date); err != nil {
				return err
			}
		}
		if _, err := c.exec(ctx, `DELETE FROM flow_days WHERE inst = ? AND bdate = ?`, day.Inst, day.Date); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO flow_days (inst, bdate, batch, seq, message_id, log_index, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			day.Inst, day.Date, day.Batch, day.Seq, day.MessageID, li, db.d.timeArg(day.AppliedAt)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO flow_applied (inst, month, applied_at) VALUES (?, ?, ?)
			ON CONFLICT (inst, month) DO UPDATE SET applied_at = excluded.applied_at WHERE excluded.applied_at > flow_applied.applied_at`,
			day.Inst, day.Date[:7], db.d.timeArg(day.AppliedAt)); err != nil {
			return err
		}
		merged := mergeCells(day.Cells)
		cells := make([][]any, len(merged))
		for i, x := range merged {
			cells[i] = []any{x.USCC, day.Date, day.Inst, x.Currency, x.CpKey, x.CpAcctKey, x.CpIsSelf, x.Inflow, x.Outflow,
				x.InCount, x.OutCount, x.SalOut, x.TaxOut, x.UtlOut, x.RoundIn}
		}
		if err := insertRows(ctx, c, `INSERT INTO flow_cells (uscc, bdate, inst, currency, cp_key, cp_acct_key, cp_is_self, inflow, outflow,
			in_count, out_count, sal_out, tax_out, utl_out, round_in) VALUES `, 15, cells); err != nil {
			return err
		}
		mergedBals := mergeBalances(day.Balances)
		bals := make([][]any, len(mergedBals))
		for i, b := range mergedBals {
			bals[i] = []any{b.USCC, day.Date, day.Inst, b.AcctKey, b.Currency, b.CloseBal, b.Master}
		}
		if err := insertRows(ctx, c, `INSERT INTO flow_balances (uscc, bdate, inst, acct_key, currency, close_bal, master) VALUES `, 7, bals); err != nil {
			return err
		}
		for _, a := range day.Accounts {
			// The latest business date's description of an account wins.
			if _, err := c.exec(ctx, `INSERT INTO flow_accounts (uscc, acct_key, inst, acct_type, currency, open_date, close_date, bdate)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (uscc, acct_key) DO UPDATE SET inst = excluded.inst, acct_type = excluded.acct_type,
					currency = excluded.currency, open_date = excluded.open_date, close_date = excluded.close_date, bdate = excluded.bdate
				WHERE excluded.bdate >= flow_accounts.bdate`,
				a.USCC, a.Key, a.Inst, a.Type, a.Currency, a.OpenDate, a.CloseDate, day.Date); err != nil {
				return err
			}
		}
		applied = true
		return nil
	})
	return applied, err
}

// mergeCells sums cells with the same key (enterprise, currency,
// counterparty, counterparty account, self): the tables keep one row per
// key and day, clustered for the report's read, and a report sums them
// anyway.
func mergeCells(cells []ronghe.FlowCell) []ronghe.FlowCell {
	type key struct {
		uscc, currency, cp, cpAcct string
		self                       bool
	}
	at := make(map[key]int, len(cells))
	out := make([]ronghe.FlowCell, 0, len(cells))
	for _, c := range cells {
		k := key{c.USCC, c.Currency, c.CpKey, c.CpAcctKey, c.CpIsSelf}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, c)
			continue
		}
		m := &out[i]
		m.Inflow += c.Inflow
		m.Outflow += c.Outflow
		m.InCount += c.InCount
		m.OutCount += c.OutCount
		m.SalOut += c.SalOut
		m.TaxOut += c.TaxOut
		m.UtlOut += c.UtlOut
		m.RoundIn += c.RoundIn
	}
	return out
}

// mergeBalances sums balances of the same account and currency reported
// twice in one batch, as a report summing the rows would.
func mergeBalances(bals []ronghe.FlowBalance) []ronghe.FlowBalance {
	type key struct{ uscc, acct, currency string }
	at := make(map[key]int, len(bals))
	out := make([]ronghe.FlowBalance, 0, len(bals))
	for _, b := range bals {
		k := key{b.USCC, b.AcctKey, b.Currency}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, b)
			continue
		}
		out[i].CloseBal += b.CloseBal
		out[i].Master = out[i].Master || b.Master
	}
	return out
}

// insertRows inserts rows of n columns with multi-row INSERTs.
func insertRows(ctx context.Context, c conn, head string, n int, rows [][]any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	for start := 0; start < len(rows); start += flowInsertRows {
		end := min(start+flowInsertRows, len(rows))
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (end-start)*n)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, rows[i]...)
		}
		if _, err := c.exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// The queries of FlowFacts, prepared once. Cells and balances are clustered
// on (uscc, bdate, …), so each is one range read in the order wanted.
const (
	qFlowAccounts = `SELECT inst, acct_key, acct_type, currency, open_date, close_date FROM flow_accounts WHERE uscc = ? ORDER BY acct_key`
	qFlowCells    = `SELECT bdate, inst, currency, cp_key, cp_acct_key, cp_is_self, inflow, outflow, in_count, out_count,
		sal_out, tax_out, utl_out, round_in FROM flow_cells WHERE uscc = ? AND bdate >= ? AND bdate <= ? ORDER BY bdate, inst, currency, cp_key`
	qFlowBalances = `SELECT bdate, inst, acct_key, currency, close_bal, master FROM flow_balances
		WHERE uscc = ? AND bdate >= ? AND bdate <= ? ORDER BY bdate, inst, acct_key`
	// As of: the latest application among the slices of this enterprise's
	// institutions in the window — per month when the window is whole
	// months, else per day.
	qFlowAsOfMonths = `SELECT MAX(a.applied_at) FROM flow_applied a WHERE a.month >= ? AND a.month <= ?
		AND a.inst IN (SELECT inst FROM flow_accounts WHERE uscc = ?)`
	qFlowAsOfDays = `SELECT MAX(d.applied_at) FROM flow_days d WHERE d.bdate >= ? AND d.bdate <= ?
		AND d.inst IN (SELECT inst FROM flow_accounts WHERE uscc = ?)`
)

// flowFactsRowWise makes SQLite read the facts row by row as PostgreSQL
// does (tests compare both ways).
var flowFactsRowWise = false

// wholeMonths reports whether [from, to] (YYYY-MM-DD) starts on a month's
// first day and ends on a month's last.
func wholeMonths(from, to string) bool {
	if len(from) != 10 || len(to) != 10 || from[8:] != "01" {
		return false
	}
	t, err := time.Parse(time.DateOnly, to)
	return err == nil && t.AddDate(0, 0, 1).Day() == 1
}

// FlowFacts returns the aggregates of one enterprise between from and to.
func (db *DB) FlowFacts(ctx context.Context, uscc, from, to string) (*ronghe.FlowFacts, error) {
	if db.d == sqliteDialect && !flowFactsRowWise {
		if f, ok, err := db.flowFactsPacked(ctx, uscc, from, to); ok || err != nil {
			return f, err
		}
	}
	f := &ronghe.FlowFacts{}
	rows, err := db.queryPrepared(ctx, qFlowAccounts, uscc)
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	for rows.Next() {
		a := ronghe.FlowAccount{USCC: uscc}
		if err := rows.Scan(&a.Inst, &a.Key, &a.Type, &a.Currency, &a.OpenDate, &a.CloseDate); err != nil {
			rows.Close()
			return nil, db.dbErr("flow facts", err)
		}
		f.Accounts = append(f.Accounts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	rows, err = db.queryPrepared(ctx, qFlowCells, uscc, from, to)
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	for rows.Next() {
		x := ronghe.DatedFlowCell{FlowCell: ronghe.FlowCell{USCC: uscc}}
		if err := rows.Scan(&x.Date, &x.Inst, &x.Currency, &x.CpKey, &x.CpAcctKey, &x.CpIsSelf, &x.Inflow, &x.Outflow,
			&x.InCount, &x.OutCount, &x.SalOut, &x.TaxOut, &x.UtlOut, &x.RoundIn); err != nil {
			rows.Close()
			return nil, db.dbErr("flow facts", err)
		}
		f.Cells = append(f.Cells, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	rows, err = db.queryPrepared(ctx, qFlowBalances, uscc, from, to)
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	for rows.Next() {
		b := ronghe.DatedFlowBalance{FlowBalance: ronghe.FlowBalance{USCC: uscc}}
		if err := rows.Scan(&b.Date, &b.Inst, &b.AcctKey, &b.Currency, &b.CloseBal, &b.Master); err != nil {
			rows.Close()
			return nil, db.dbErr("flow facts", err)
		}
		f.Balances = append(f.Balances, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	q, lo, hi := qFlowAsOfDays, from, to
	if wholeMonths(from, to) {
		q, lo, hi = qFlowAsOfMonths, from[:7], to[:7]
	}
	st, err := db.prepared(ctx, q)
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	var asOfT *time.Time
	if err := st.QueryRowContext(ctx, lo, hi, uscc).Scan(nullTimeCol{&asOfT}); err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	if asOfT != nil {
		f.AsOf = *asOfT
	}
	return f, nil
}

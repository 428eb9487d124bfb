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
		cells := make([][]any, len(day.Cells))
		for i, x := range day.Cells {
			cells[i] = []any{x.USCC, day.Date, day.Inst, x.Currency, x.CpKey, x.CpAcctKey, x.CpIsSelf, x.Inflow, x.Outflow,
				x.InCount, x.OutCount, x.SalOut, x.TaxOut, x.UtlOut, x.RoundIn}
		}
		if err := insertRows(ctx, c, `INSERT INTO flow_cells (uscc, bdate, inst, currency, cp_key, cp_acct_key, cp_is_self, inflow, outflow,
			in_count, out_count, sal_out, tax_out, utl_out, round_in) VALUES `, 15, cells); err != nil {
			return err
		}
		bals := make([][]any, len(day.Balances))
		for i, b := range day.Balances {
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

// FlowFacts returns the aggregates of one enterprise between from and to.
func (db *DB) FlowFacts(ctx context.Context, uscc, from, to string) (*ronghe.FlowFacts, error) {
	f := &ronghe.FlowFacts{}
	c := db.pool()
	rows, err := c.query(ctx, `SELECT uscc, inst, acct_key, acct_type, currency, open_date, close_date FROM flow_accounts WHERE uscc = ? ORDER BY acct_key`, uscc)
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	for rows.Next() {
		var a ronghe.FlowAccount
		if err := rows.Scan(&a.USCC, &a.Inst, &a.Key, &a.Type, &a.Currency, &a.OpenDate, &a.CloseDate); err != nil {
			rows.Close()
			return nil, db.dbErr("flow facts", err)
		}
		f.Accounts = append(f.Accounts, a)
	}
	rows.Close()
	rows, err = c.query(ctx, `SELECT bdate, inst, uscc, currency, cp_key, cp_acct_key, cp_is_self, inflow, outflow, in_count, out_count,
		sal_out, tax_out, utl_out, round_in FROM flow_cells WHERE uscc = ? AND bdate >= ? AND bdate <= ? ORDER BY bdate, inst, currency, cp_key`, uscc, from, to)
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	for rows.Next() {
		var x ronghe.DatedFlowCell
		if err := rows.Scan(&x.Date, &x.Inst, &x.USCC, &x.Currency, &x.CpKey, &x.CpAcctKey, &x.CpIsSelf, &x.Inflow, &x.Outflow,
			&x.InCount, &x.OutCount, &x.SalOut, &x.TaxOut, &x.UtlOut, &x.RoundIn); err != nil {
			rows.Close()
			return nil, db.dbErr("flow facts", err)
		}
		f.Cells = append(f.Cells, x)
	}
	rows.Close()
	rows, err = c.query(ctx, `SELECT bdate, inst, uscc, acct_key, currency, close_bal, master FROM flow_balances
		WHERE uscc = ? AND bdate >= ? AND bdate <= ? ORDER BY bdate, inst, acct_key`, uscc, from, to)
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	for rows.Next() {
		var b ronghe.DatedFlowBalance
		if err := rows.Scan(&b.Date, &b.Inst, &b.USCC, &b.AcctKey, &b.Currency, &b.CloseBal, &b.Master); err != nil {
			rows.Close()
			return nil, db.dbErr("flow facts", err)
		}
		f.Balances = append(f.Balances, b)
	}
	rows.Close()
	// As of: the latest application among the slices of this enterprise's
	// institutions in the window.
	var asOfT *time.Time
	err = c.queryRow(ctx, `SELECT MAX(d.applied_at) FROM flow_days d WHERE d.bdate >= ? AND d.bdate <= ?
		AND d.inst IN (SELECT DISTINCT inst FROM flow_accounts WHERE uscc = ?)`, from, to, uscc).Scan(nullTimeCol{&asOfT})
	if err != nil {
		return nil, db.dbErr("flow facts", err)
	}
	if asOfT != nil {
		f.AsOf = *asOfT
	}
	return f, nil
}

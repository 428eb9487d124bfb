package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// On SQLite, FlowFacts reads everything in one statement that returns one
// row: each table's rows packed into one text value (fields separated by
// US, 0x1f, rows by RS, 0x1e), unpacked here. The driver takes the
// connection's mutex for every column of every row it hands over — most of
// a report's read, with 14 columns and about 90 cells per enterprise — and
// one statement instead of four saves three round trips through the pool.
// The aggregates carry no ORDER BY — an ordered group_concat sorts, and
// costs a third more — so the rows come in the tables' key order, which
// is the order wanted; unpacking checks it and sorts only if SQLite ever
// chose another. Every packed field is a code, a hex key, a date or an integer, none of
// which can hold a separator; unpacking checks the field counts all the same
// and fails rather than guess.
const (
	fieldSep = "\x1f"
	rowSep   = "\x1e"
)

// qFlowPacked is the SQLite FlowFacts query; ?1 is the USCC, ?2 and ?3 the
// date range, ?4 and ?5 the as-of range (months or dates, see asOf).
const qFlowPacked = `SELECT
	(SELECT group_concat(concat_ws(char(31), inst, acct_key, acct_type, currency, open_date, close_date), char(30))
		FROM flow_accounts WHERE uscc = ?1),
	(SELECT group_concat(concat_ws(char(31), bdate, inst, currency, cp_key, cp_acct_key, cp_is_self, inflow, outflow,
		in_count, out_count, sal_out, tax_out, utl_out, round_in), char(30))
		FROM flow_cells WHERE uscc = ?1 AND bdate >= ?2 AND bdate <= ?3),
	(SELECT group_concat(concat_ws(char(31), bdate, inst, acct_key, currency, close_bal, master), char(30))
		FROM flow_balances WHERE uscc = ?1 AND bdate >= ?2 AND bdate <= ?3),
	(%s)`

var (
	qFlowPackedMonths = strings.Replace(qFlowPacked, "%s", `SELECT MAX(a.applied_at) FROM flow_applied a WHERE a.month >= ?4 AND a.month <= ?5
		AND a.inst IN (SELECT inst FROM flow_accounts WHERE uscc = ?1)`, 1)
	qFlowPackedDays = strings.Replace(qFlowPacked, "%s", `SELECT MAX(d.applied_at) FROM flow_days d WHERE d.bdate >= ?4 AND d.bdate <= ?5
		AND d.inst IN (SELECT inst FROM flow_accounts WHERE uscc = ?1)`, 1)
)

// flowFactsPacked is FlowFacts on SQLite; ok is false when the packed rows
// cannot be unpacked (a value holds a separator).
func (db *DB) flowFactsPacked(ctx context.Context, uscc, from, to string) (f *ronghe.FlowFacts, ok bool, err error) {
	q, lo, hi := qFlowPackedDays, from, to
	if wholeMonths(from, to) {
		q, lo, hi = qFlowPackedMonths, from[:7], to[:7]
	}
	var accts, cells, bals sql.NullString
	var asOf *time.Time
	if err := db.queryRowPrepared(ctx, q, uscc, from, to, lo, hi).Scan(&accts, &cells, &bals, nullTimeCol{&asOf}); err != nil {
		return nil, false, db.dbErr("flow facts", err)
	}
	f = &ronghe.FlowFacts{}
	if asOf != nil {
		f.AsOf = *asOf
	}
	var u unpacker
	u.rows(accts.String, 6, func(x []string) {
		f.Accounts = append(f.Accounts, ronghe.FlowAccount{USCC: uscc, Inst: x[0], Key: x[1], Type: x[2], Currency: x[3], OpenDate: x[4], CloseDate: x[5]})
	})
	f.Cells = make([]ronghe.DatedFlowCell, 0, strings.Count(cells.String, rowSep)+1)
	u.rows(cells.String, 14, func(x []string) {
		f.Cells = append(f.Cells, ronghe.DatedFlowCell{Date: x[0], Inst: x[1], FlowCell: ronghe.FlowCell{USCC: uscc, Currency: x[2],
			CpKey: x[3], CpAcctKey: x[4], CpIsSelf: u.bool(x[5]), Inflow: u.int(x[6]), Outflow: u.int(x[7]), InCount: u.int(x[8]),
			OutCount: u.int(x[9]), SalOut: u.int(x[10]), TaxOut: u.int(x[11]), UtlOut: u.int(x[12]), RoundIn: u.int(x[13])}})
	})
	f.Balances = make([]ronghe.DatedFlowBalance, 0, strings.Count(bals.String, rowSep)+1)
	u.rows(bals.String, 6, func(x []string) {
		f.Balances = append(f.Balances, ronghe.DatedFlowBalance{Date: x[0], Inst: x[1], FlowBalance: ronghe.FlowBalance{USCC: uscc,
			AcctKey: x[2], Currency: x[3], CloseBal: u.int(x[4]), Master: u.bool(x[5])}})
	})
	if u.err {
		return nil, false, nil
	}
	sortFacts(f)
	if len(f.Cells) == 0 {
		f.Cells = nil
	}
	if len(f.Balances) == 0 {
		f.Balances = nil
	}
	return f, true, nil
}

// sortFacts puts the facts in the order of the row-wise queries (the
// tables' keys), unless they already are.
func sortFacts(f *ronghe.FlowFacts) {
	acct := func(a, b ronghe.FlowAccount) int { return strings.Compare(a.Key, b.Key) }
	if !slices.IsSortedFunc(f.Accounts, acct) {
		slices.SortStableFunc(f.Accounts, acct)
	}
	cell := func(a, b ronghe.DatedFlowCell) int {
		return cmp.Or(strings.Compare(a.Date, b.Date), strings.Compare(a.Inst, b.Inst), strings.Compare(a.Currency, b.Currency),
			strings.Compare(a.CpKey, b.CpKey), strings.Compare(a.CpAcctKey, b.CpAcctKey), cmpBool(a.CpIsSelf, b.CpIsSelf))
	}
	if !slices.IsSortedFunc(f.Cells, cell) {
		slices.SortStableFunc(f.Cells, cell)
	}
	bal := func(a, b ronghe.DatedFlowBalance) int {
		return cmp.Or(strings.Compare(a.Date, b.Date), strings.Compare(a.Inst, b.Inst), strings.Compare(a.AcctKey, b.AcctKey),
			strings.Compare(a.Currency, b.Currency))
	}
	if !slices.IsSortedFunc(f.Balances, bal) {
		slices.SortStableFunc(f.Balances, bal)
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// unpacker splits packed rows; err records any malformed row or number.
type unpacker struct {
	err    bool
	fields [16]string
}

// rows calls fn with the n fields of each row of s ("" holds no rows).
func (u *unpacker) rows(s string, n int, fn func([]string)) {
	for s != "" {
		row, rest, _ := strings.Cut(s, rowSep)
		s = rest
		x := u.fields[:0]
		for i := 0; i < n-1; i++ {
			v, r, ok := strings.Cut(row, fieldSep)
			if !ok {
				u.err = true
				return
			}
			x = append(x, v)
			row = r
		}
		if strings.Contains(row, fieldSep) {
			u.err = true
			return
		}
		fn(append(x, row))
	}
}

func (u *unpacker) int(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		u.err = true
	}
	return v
}

func (u *unpacker) bool(s string) bool {
	switch s {
	case "0":
		return false
	case "1":
		return true
	}
	u.err = true
	return false
}

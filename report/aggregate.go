// Package report is "usable but not visible" (可用不可见): it maintains the
// aggregates of RRS-1 §5 as batches are accepted and corrected, and computes
// the enterprise flow report (企业收支流水报告) from them for an institution
// holding a valid authorization — across every reporting institution, with
// no detail row, account number, counterparty identity or remark in the
// output.
package report

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Keyer turns identities into keyed digests, so that the aggregates can join
// accounts and counterparties without storing them.
type Keyer struct{ key []byte }

// NewKeyer returns a Keyer with the platform's pseudonymisation secret (at
// least 32 bytes).
func NewKeyer(secret []byte) (*Keyer, error) {
	if len(secret) < 32 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "pseudonymisation secret must be at least 32 bytes")
	}
	return &Keyer{key: append([]byte(nil), secret...)}, nil
}

func (k *Keyer) digest(parts ...string) string {
	m := hmac.New(sha256.New, k.key)
	for _, p := range parts {
		io.WriteString(m, p)
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Account returns the key of an account: institution and account number.
func (k *Keyer) Account(inst, acctNo string) string { return k.digest("A", inst, acctNo) }

// Counterparty returns the key of a counterparty: by USCC when known, else by
// institution and account, else by name; "" for none (cash, fees).
func (k *Keyer) Counterparty(cpUSCC, cpInst, cpAcct, cpName string) string {
	switch {
	case cpUSCC != "":
		return k.digest("U", cpUSCC)
	case cpAcct != "":
		return k.digest("A", cpInst, cpAcct)
	case cpName != "":
		return k.digest("N", cpName)
	}
	return ""
}

// Lineage names the accepted submission a batch came from.
type Lineage struct {
	MessageID string
	LogIndex  uint64
}

// roundUnit is 10,000 yuan in cents: RRS-1 §5's round amounts.
const roundUnit = 1_000_000

// Batch is a batch to read: a directory or zip (*rrs.Batch) or the
// encrypted files of an accepted submission.
type Batch interface {
	ID() rrs.BatchID
	Has(t rrs.Type) bool
	Open(t rrs.Type) (*rrs.Reader, error)
}

// Aggregate reads a batch's ACCT, TXN and BAL files and returns its FlowDay.
// Rows that do not parse (which the rule engine reports) are left out; a
// TXN or BAL row whose account the batch's ACCT does not describe is left
// out too, since its holder is unknown.
func Aggregate(ctx context.Context, b Batch, lin Lineage, k *Keyer, now time.Time) (*ronghe.FlowDay, error) {
	id := b.ID()
	day := &ronghe.FlowDay{Inst: id.InstCode, Date: id.Date.String(), Batch: id.String(), Seq: id.Seq,
		MessageID: lin.MessageID, LogIndex: lin.LogIndex, AppliedAt: now.UTC()}
	type acct struct {
		uscc, key, typ, currency string
	}
	accts := map[string]acct{}
	err := eachRow(ctx, b, rrs.ACCT, func(rt *rrs.RecordType, v []string) {
		get := func(f string) string { return v[rt.Index(f)] }
		no, uscc := get("acct_no"), get("uscc")
		if no == "" || !rrs.ValidUSCC(uscc) {
			return
		}
		a := acct{uscc: uscc, key: k.Account(id.InstCode, no), typ: get("acct_type"), currency: get("currency")}
		accts[no] = a
		day.Accounts = append(day.Accounts, ronghe.FlowAccount{USCC: uscc, Inst: id.InstCode, Key: a.key, Type: a.typ,
			Currency: a.currency, OpenDate: get("open_date"), CloseDate: get("close_date")})
	})
	if err != nil {
		return nil, err
	}
	type cellKey struct {
		uscc, currency, cp, cpAcct string
		self                       bool
	}
	cells := map[cellKey]*ronghe.FlowCell{}
	var order []cellKey
	err = eachRow(ctx, b, rrs.TXN, func(rt *rrs.RecordType, v []string) {
		get := func(f string) string { return v[rt.Index(f)] }
		a, ok := accts[get("acct_no")]
		if !ok {
			return
		}
		amt, err := rrs.ParseAmount(get("amount"))
		if err != nil || amt <= 0 {
			return
		}
		dc := get("dc_flag")
		if dc != "C" && dc != "D" {
			return
		}
		cpUSCC, cpInst, cpAcct := get("cp_uscc"), get("cp_inst_code"), get("cp_acct_no")
		ck := cellKey{uscc: a.uscc, currency: get("currency"), cp: k.Counterparty(cpUSCC, cpInst, cpAcct, get("cp_name")), self: cpUSCC == a.uscc}
		if cpAcct != "" {
			ck.cpAcct = k.Account(cpInst, cpAcct)
		}
		c := cells[ck]
		if c == nil {
			c = &ronghe.FlowCell{USCC: ck.uscc, Currency: ck.currency, CpKey: ck.cp, CpAcctKey: ck.cpAcct, CpIsSelf: ck.self}
			cells[ck] = c
			order = append(order, ck)
		}
		cents := int64(amt)
		if dc == "C" {
			c.Inflow += cents
			c.InCount++
			if cents%roundUnit == 0 {
				c.RoundIn += cents
			}
			return
		}
		c.Outflow += cents
		c.OutCount++
		switch get("purpose") {
		case "SAL":
			c.SalOut += cents
		case "TAX":
			c.TaxOut += cents
		case "UTL":
			c.UtlOut += cents
		}
	})
	if err != nil {
		return nil, err
	}
	for _, ck := range order {
		day.Cells = append(day.Cells, *cells[ck])
	}
	err = eachRow(ctx, b, rrs.BAL, func(rt *rrs.RecordType, v []string) {
		get := func(f string) string { return v[rt.Index(f)] }
		a, ok := accts[get("acct_no")]
		if !ok {
			return
		}
		bal, err := rrs.ParseAmount(get("close_bal"))
		if err != nil {
			return
		}
		day.Balances = append(day.Balances, ronghe.FlowBalance{USCC: a.uscc, AcctKey: a.key, Currency: get("currency"),
			CloseBal: int64(bal), Master: a.typ == "9"})
	})
	if err != nil {
		return nil, err
	}
	return day, nil
}

// eachRow calls fn for every parsable row of one file of the batch; a
// missing file has no rows.
func eachRow(ctx context.Context, b Batch, t rrs.Type, fn func(*rrs.RecordType, []string)) error {
	if !b.Has(t) {
		return nil
	}
	r, err := b.Open(t)
	if err != nil {
		return err
	}
	defer r.Close()
	rt := r.Type()
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *rrs.ParseError
		if errors.As(err, &pe) && pe.Recoverable() {
			continue
		}
		if err != nil {
			return fmt.Errorf("report: reading %s: %w", t, err)
		}
		fn(rt, row.Values)
	}
}

package governance

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

// facts is what one pass over a batch's files learns besides the rule
// engine's findings: the counts behind the quality score, the structural
// problems that reject a batch, the P01 sample, and the TXN rows asked for.
type facts struct {
	records     int64
	expectedBAL int64
	checks      int64
	problems    []string
	// rows holds the TXN rows (canonical field order) whose txn_id was in
	// scanOptions.collect; a txn_id that occurs twice keeps its first row.
	rows map[string][]string
}

// scanOptions say what else a pass does.
type scanOptions struct {
	// drawer, when set, gets every TXN row; it can be drawn when its
	// txn_id and amount pass L01/L02, the amount is > 0 and the txn_id is
	// not in exclude.
	drawer  *drawer
	exclude map[string]bool
	// collect names txn_ids whose rows to keep.
	collect map[string]bool
}

// acctInfo is what the S-check count needs of an account.
type acctInfo struct {
	master            bool
	subject, currency string
	status            string
}

// scanBatch reads every file of b once. A file that cannot be read to its
// end, and a required file that is missing, are structural problems; an
// I/O error (not a fault of the content) is returned.
func scanBatch(b *rrs.Batch, opt scanOptions) (*facts, error) {
	f := &facts{rows: map[string][]string{}}
	spec := b.Spec()
	monthEnd := b.ID().Date.IsMonthEnd()
	accts := map[string]acctInfo{}
	balOK := map[string]bool{} // first BAL row per account: took part
	glKeys := map[string]bool{}
	statKeys := map[string]bool{}
	ctlFiles := map[string]bool{}
	present := map[rrs.Type]bool{}
	for _, rt := range spec.Types {
		if !b.Has(rt.Type) {
			required := !rt.Optional && (!rt.MonthEndOnly || monthEnd)
			if required {
				f.problems = append(f.problems, fmt.Sprintf("%s is missing", rt.Type.FileName()))
			}
			continue
		}
		if rt.Type != rrs.CTL {
			present[rt.Type] = true
		}
		rd, err := b.Open(rt.Type)
		if err != nil {
			var pe *rrs.ParseError
			if errors.As(err, &pe) && contentError(pe) {
				f.problems = append(f.problems, fmt.Sprintf("%s cannot be read: %s", rt.Type.FileName(), pe.Error()))
				continue
			}
			return nil, err
		}
		err = scanFile(rd, rt, f, opt, func(v []string) {
			switch rt.Type {
			case rrs.ACCT:
				no := v[rt.Index("acct_no")]
				if _, dup := accts[no]; dup || rt.Field("acct_no").Check(no) != nil {
					return
				}
				accts[no] = acctInfo{master: v[rt.Index("acct_type")] == "9", subject: v[rt.Index("subject_code")],
					currency: v[rt.Index("currency")], status: v[rt.Index("status")]}
			case rrs.BAL:
				no := v[rt.Index("acct_no")]
				if _, seen := balOK[no]; seen || no == "" {
					return
				}
				balOK[no] = rowOK(rt, v)
			case rrs.GL:
				if keyOK(rt, v) {
					glKeys[rt.RowKey(v, 0)] = true
				}
			case rrs.STAT:
				if keyOK(rt, v) {
					statKeys[rt.RowKey(v, 0)] = true
				}
			case rrs.CTL:
				file := v[rt.Index("file")]
				if t := rrs.Type(file); t != rrs.CTL && spec.Record(t) != nil {
					ctlFiles[file] = true
				}
			}
		})
		if err != nil {
			var pe *rrs.ParseError
			if errors.As(err, &pe) && contentError(pe) {
				f.problems = append(f.problems, fmt.Sprintf("%s cannot be read to its end: %s", rt.Type.FileName(), pe.Error()))
				continue
			}
			return nil, err
		}
	}
	// Expected BAL rows (L10's denominator): accounts with status A or F.
	for _, a := range accts {
		if a.status == "A" || a.status == "F" {
			f.expectedBAL++
		}
	}
	// S and T checks run, as the rules of RRS-1 §3.2 and §3.4 (E) count
	// their units: S01 per (subject, currency) of the GL or of accounts that
	// take part, S02 per master account, S03 per ordinary account's BAL row,
	// T01 per file expected (present, required or listed), T02 per STAT or
	// GL key at month end.
	s01 := map[string]bool{}
	for k := range glKeys {
		s01[k] = true
	}
	for no, ok := range balOK {
		a, known := accts[no]
		if !ok {
			continue
		}
		switch {
		case known && a.master:
			f.checks++ // S02
		case known:
			s01[a.subject+"|"+a.currency] = true
			f.checks++ // S03
		default:
			f.checks++ // S03 runs on a BAL row whose account is not in ACCT
		}
	}
	f.checks += int64(len(s01))
	t01 := map[string]bool{"ACCT": true, "TXN": true, "BAL": true, "GL": true}
	if monthEnd {
		t01["STAT"] = true
	}
	for t := range present {
		t01[string(t)] = true
	}
	for file := range ctlFiles {
		t01[file] = true
	}
	f.checks += int64(len(t01))
	if monthEnd {
		t02 := map[string]bool{}
		for k := range statKeys {
			t02[k] = true
		}
		for k := range glKeys {
			t02[k] = true
		}
		f.checks += int64(len(t02))
	}
	return f, nil
}

// scanFile reads one file to its end, counting its rows, offering TXN rows
// to the sampler and collecting the rows asked for.
func scanFile(rd *rrs.Reader, rt *rrs.RecordType, f *facts, opt scanOptions, each func([]string)) error {
	defer func() {
		f.records += int64(rd.Rows())
		rd.Close()
	}()
	iID, iAmt := rt.Index("txn_id"), rt.Index("amount")
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *rrs.ParseError
			if errors.As(err, &pe) && pe.Recoverable() {
				continue // one malformed record: the engine reports it
			}
			return err
		}
		v := row.Values
		each(v)
		if rt.Type != rrs.TXN {
			continue
		}
		id := v[iID]
		if opt.collect[id] {
			if _, dup := f.rows[id]; !dup {
				f.rows[id] = v
			}
		}
		if opt.drawer == nil {
			continue
		}
		ok := id != "" && !opt.exclude[id] && rt.Fields[iID].Check(id) == nil && rt.Fields[iAmt].Check(v[iAmt]) == nil
		a, aok := rt.Amount(v, "amount")
		opt.drawer.add(row.Line, a, ok && aok)
	}
}

// contentError tells a fault of the file's content from an I/O fault.
func contentError(pe *rrs.ParseError) bool {
	return pe.Code == "" || pe.Code == ronghe.EINVALID || pe.Code == ronghe.ETOOLARGE
}

// rowOK reports whether no value of the row breaks L01 or L02.
func rowOK(rt *rrs.RecordType, v []string) bool {
	for i := range rt.Fields {
		if rt.Fields[i].Check(v[i]) != nil {
			return false
		}
	}
	return true
}

// keyOK reports whether the row's key fields pass L01 and L02.
func keyOK(rt *rrs.RecordType, v []string) bool {
	return !strings.HasPrefix(rt.RowKey(v, 0), "#")
}

// Rule families of the quality score.
func isAccuracyRule(rule string) bool {
	return strings.HasPrefix(rule, "L") || strings.HasPrefix(rule, "C")
}

func isConsistencyRule(rule string) bool {
	return strings.HasPrefix(rule, "S") || strings.HasPrefix(rule, "T")
}

// findingStats completes a batch's score figures from its own findings:
// records with an L or C error, L10 findings, failed S and T checks (E
// only: T03 is a W rule, its mismatch cannot be attributed to one side).
func findingStats(fs []rules.Finding, st *ronghe.QualityStats) {
	bad := map[string]bool{}
	for _, f := range fs {
		if f.Severity != rules.Error {
			continue
		}
		switch {
		case f.Rule == "L10":
			st.L10++
		}
		if isAccuracyRule(f.Rule) && f.Type != rules.RecordBatch {
			bad[f.Type+"\x00"+f.Key] = true
		}
		if isConsistencyRule(f.Rule) {
			st.FailedChecks++
		}
	}
	st.ErrorRecords = int64(len(bad))
	st.ErrorRecords = min(st.ErrorRecords, st.Records)
	st.FailedChecks = min(st.FailedChecks, st.Checks)
}

// structural returns the reasons that make a batch unusable: the problems
// of the pass and every T01 finding (a control-total mismatch, a file
// without its CTL row, a CTL row without its file).
func structural(f *facts, fs []rules.Finding) []string {
	out := append([]string(nil), f.problems...)
	for _, x := range fs {
		if x.Rule == "T01" {
			what := x.Message
			if x.Field != "" {
				what += " (" + x.Field + ")"
			}
			out = append(out, fmt.Sprintf("T01 %s: %s", x.Key, what))
		}
	}
	return out
}

// Outcome is the platform's verdict on a batch: rejected when it is
// structurally unusable (see structural), otherwise accepted with warnings
// when it has any finding, else accepted.
func Outcome(problems []string, findings int) string {
	switch {
	case len(problems) > 0:
		return ronghe.OutcomeRejected
	case findings > 0:
		return ronghe.OutcomeWarnings
	}
	return ronghe.OutcomeAccepted
}

// txnIDsAt reads the txn_ids of the drawn rows from b's TXN file.
func txnIDsAt(b *rrs.Batch, picks []pick) ([]ronghe.SampleRow, error) {
	if len(picks) == 0 {
		return []ronghe.SampleRow{}, nil
	}
	at := make(map[int]int, len(picks))
	for i, p := range picks {
		at[p.line] = i
	}
	rd, err := b.Open(rrs.TXN)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	iID := rd.Type().Index("txn_id")
	out := make([]ronghe.SampleRow, len(picks))
	found := 0
	for found < len(picks) {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *rrs.ParseError
			if errors.As(err, &pe) && pe.Recoverable() {
				continue
			}
			return nil, err
		}
		if i, ok := at[row.Line]; ok {
			out[i] = ronghe.SampleRow{Line: row.Line, TxnID: row.Values[iID], Hits: picks[i].hits}
			found++
		}
	}
	if found != len(picks) {
		return nil, ronghe.Errorf(ronghe.EINTERNAL, "governance: %d of %d drawn rows not found again", len(picks)-found, len(picks))
	}
	return out, nil
}

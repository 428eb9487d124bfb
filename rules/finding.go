package rules

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/ronghe/ronghe/rrs"
)

// Severity is E (error: counts against accuracy or consistency and must be
// rectified) or W (warning, 疑问数据: the institution must confirm or correct),
// as RRS-1 §3 assigns it to each rule.
type Severity string

// The severities of RRS-1 §3.
const (
	Error   Severity = "E"
	Warning Severity = "W"
)

// RecordBatch is the record type of findings about a batch as a whole (C05,
// C06, T03): RRS-1 §3 names them BATCH with the key the rule gives.
const RecordBatch = "BATCH"

// Finding is one rule broken by one row, account-day, file or batch. Its
// identity is (Rule, Batch, Type, Key) as RRS-1 §3 defines it; Field names the
// field where one applies (the first in definition order when a row breaks the
// rule in several fields). Message says in English what is wrong; it never
// quotes a value, because values can be personal information or data of
// security level 3.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Batch    string   `json:"batch"`
	Type     string   `json:"type"`
	Key      string   `json:"key"`
	Field    string   `json:"field"`
	Message  string   `json:"message"`
}

// ID returns the finding's identity "rule batch type key", for sets and maps.
func (f *Finding) ID() string { return f.Rule + " " + f.Batch + " " + f.Type + " " + f.Key }

// finding is a Finding with what sorting and merging need: the batch's
// identity and the rank of the field in its record type's definition.
type finding struct {
	Finding
	id    rrs.BatchID
	order int // field position in definition order; -1 when no field applies
}

// compareFindings orders findings by batch date, institution, seq, rule,
// type, key and field: the order `ronghe validate` prints them in. Keys of the
// form "#<line>" sort by line number, after ordinary keys.
func compareFindings(a, b *finding) int {
	if c := a.id.Date.Compare(b.id.Date); c != 0 {
		return c
	}
	if c := cmp.Compare(a.id.InstCode, b.id.InstCode); c != 0 {
		return c
	}
	if c := cmp.Compare(a.id.Seq, b.id.Seq); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Rule, b.Rule); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := compareKeys(a.Key, b.Key); c != 0 {
		return c
	}
	return cmp.Compare(a.Field, b.Field)
}

// compareKeys compares finding keys: ordinary keys as strings, "#<line>" keys
// after them by line number.
func compareKeys(a, b string) int {
	la, aLine := lineKey(a)
	lb, bLine := lineKey(b)
	switch {
	case aLine && bLine:
		return cmp.Compare(la, lb)
	case aLine:
		return 1
	case bLine:
		return -1
	}
	return cmp.Compare(a, b)
}

func lineKey(k string) (int, bool) {
	if len(k) < 2 || k[0] != '#' {
		return 0, false
	}
	n, err := strconv.Atoi(k[1:])
	return n, err == nil
}

// mergeFindings sorts fs and keeps one finding per identity: the one whose
// field comes first in definition order (RRS-1 §3: one row breaking one rule
// in two fields is one finding). Ties keep the first message seen in sort
// order, so the result is deterministic.
func mergeFindings(fs []*finding) []*finding {
	slices.SortFunc(fs, func(a, b *finding) int {
		if c := compareIdentity(a, b); c != 0 {
			return c
		}
		if c := cmp.Compare(a.order, b.order); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		return cmp.Compare(a.Message, b.Message)
	})
	out := fs[:0]
	for _, f := range fs {
		if n := len(out); n > 0 && compareIdentity(out[n-1], f) == 0 {
			continue
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, compareFindings)
	return out
}

// compareIdentity orders by everything of compareFindings but the field.
func compareIdentity(a, b *finding) int {
	if c := a.id.Date.Compare(b.id.Date); c != 0 {
		return c
	}
	if c := cmp.Compare(a.id.InstCode, b.id.InstCode); c != 0 {
		return c
	}
	if c := cmp.Compare(a.id.Seq, b.id.Seq); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Rule, b.Rule); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return compareKeys(a.Key, b.Key)
}

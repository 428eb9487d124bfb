package rrs

import (
	"strconv"
	"strings"

	"github.com/ronghe/ronghe"
)

// InstCodeLen is the length of an institution code (inst_code, string(14)).
const InstCodeLen = 14

// MaxSeq is the largest correction sequence number a batch name may carry.
const MaxSeq = 9999

// BatchID identifies a batch: everything one institution reports for one
// business date, in its seq-th version (1 = original, >1 = correction).
type BatchID struct {
	InstCode string
	Date     Date
	Seq      int
}

// ParseBatchID parses a batch directory or zip name "<inst_code>_<YYYYMMDD>_<seq>"
// with an optional ".zip" suffix, e.g. "C1234567890123_20240131_2.zip". The
// institution code is 14 ASCII letters or digits, the date a real date, and
// seq a decimal 1..9999 without leading zeros (so the name round-trips through
// String). Errors are EINVALID.
func ParseBatchID(name string) (BatchID, error) {
	s := strings.TrimSuffix(name, ".zip")
	bad := func(why string) (BatchID, error) {
		return BatchID{}, ronghe.Errorf(ronghe.EINVALID,
			"invalid batch name %q: %s (want <inst_code>_<YYYYMMDD>_<seq>)", clip(name), why)
	}
	inst, rest, ok := strings.Cut(s, "_")
	if !ok {
		return bad("no '_'")
	}
	ds, seqs, ok := strings.Cut(rest, "_")
	if !ok {
		return bad("no sequence number")
	}
	if err := checkInstCode(inst); err != nil {
		return bad(err.Error())
	}
	d, ok := parseCompactDate(ds)
	if !ok || d.Y < 1000 {
		return bad("date is not a real YYYYMMDD date")
	}
	if seqs == "" || len(seqs) > 4 || seqs[0] == '0' {
		return bad("sequence must be 1..9999 without leading zeros")
	}
	seq, ok := atoiN(seqs)
	if !ok {
		return bad("sequence must be 1..9999 without leading zeros")
	}
	return BatchID{InstCode: inst, Date: d, Seq: seq}, nil
}

func checkInstCode(s string) error {
	if len(s) != InstCodeLen {
		return ronghe.Errorf(ronghe.EINVALID, "institution code must be %d characters", InstCodeLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return ronghe.Errorf(ronghe.EINVALID, "institution code must be ASCII letters and digits")
		}
	}
	return nil
}

// Valid returns nil when b would print as a name ParseBatchID accepts, and an
// EINVALID error otherwise.
func (b BatchID) Valid() error {
	if err := checkInstCode(b.InstCode); err != nil {
		return err
	}
	if !b.Date.Valid() || b.Date.Y < 1000 {
		return ronghe.Errorf(ronghe.EINVALID, "batch date %v is not a real date", b.Date)
	}
	if b.Seq < 1 || b.Seq > MaxSeq {
		return ronghe.Errorf(ronghe.EINVALID, "batch sequence %d outside 1..%d", b.Seq, MaxSeq)
	}
	return nil
}

// String returns the batch name "<inst_code>_<YYYYMMDD>_<seq>" (no ".zip").
func (b BatchID) String() string {
	return b.InstCode + "_" + b.Date.Compact() + "_" + strconv.Itoa(b.Seq)
}

// IsCorrection reports whether b is a correction batch (seq > 1) that
// replaces the earlier batch of the same institution and date.
func (b BatchID) IsCorrection() bool { return b.Seq > 1 }

// MarshalText encodes the batch ID as its name.
func (b BatchID) MarshalText() ([]byte, error) {
	if err := b.Valid(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// UnmarshalText parses a batch name, as ParseBatchID does.
func (b *BatchID) UnmarshalText(text []byte) error {
	v, err := ParseBatchID(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

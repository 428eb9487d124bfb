package governance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

// P01 parameters (RRS-1 §3.5) when the rule set gives none: 95 %
// confidence, 3 % tolerable mismatch rate. They are probabilities, not
// money.
const (
	DefaultConfidence    = 0.95
	DefaultTolerableRate = 0.03
)

// ContentDigest is the SHA-256 (hex) of a batch's content as its signed
// manifest describes it: one line "NAME<TAB>digest" per file, names upper
// case, sorted. It changes whenever any byte of any file changes and does
// not depend on anything else in the manifest (creation time, key).
func ContentDigest(files []ronghe.ManifestFile) string {
	lines := make([]string, 0, len(files))
	for _, f := range files {
		lines = append(lines, strings.ToUpper(f.Name)+"\t"+strings.ToLower(f.Digest)+"\n")
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SampleSeed derives the seed of a batch's sample from its content digest
// under the platform's sampling key: HMAC-SHA256(key, "RRS-1 P01\n" ||
// digest). A bank knows its batch's digest before it submits; without the
// key it cannot compute the seed, so it cannot know which rows will be
// drawn. The seed is published with the sample, so anyone can repeat the
// draw from the seed and the batch (rules.Sample with the seed's bytes as
// the digest).
func SampleSeed(key []byte, contentDigest string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("RRS-1 P01\n" + contentDigest))
	return hex.EncodeToString(m.Sum(nil))
}

// drawer collects the TXN rows of a batch, in file order, for the draw: the
// amount of every data row (0 for a row that cannot be drawn) and its line.
// It keeps 12 bytes per row, never the rows themselves.
type drawer struct {
	amounts  []rrs.Amount
	lines    []int32
	eligible int64
}

// add records one data row; ok says whether it can be drawn.
func (d *drawer) add(line int, amount rrs.Amount, ok bool) {
	if !ok || amount <= 0 {
		amount = 0
	} else {
		d.eligible++
	}
	d.amounts = append(d.amounts, amount)
	d.lines = append(d.lines, int32(line))
}

// pick is a drawn row: its line and how many sampled units fell on it.
type pick struct {
	line, hits int
}

// draw draws the sample. When the rows that can be drawn are no more than
// the sample size, every one of them is taken once (a census). Otherwise it
// is RRS-1's monetary-unit sample of rules.Sample: n units of money, n =
// rules.SampleSize, systematic from a start drawn from the seed; a row is
// drawn when a unit falls in its amount (a large row may take several).
// It returns the number of units and the drawn rows in file order.
func (d *drawer) draw(seed string, confidence, tolerable float64) (units int, census bool, picks []pick, err error) {
	n, err := rules.SampleSize(confidence, tolerable, int(min(d.eligible, 1<<31-1)))
	if err != nil {
		return 0, false, nil, err
	}
	if int64(n) >= d.eligible {
		for i, a := range d.amounts {
			if a > 0 {
				picks = append(picks, pick{line: int(d.lines[i]), hits: 1})
			}
		}
		return len(picks), true, picks, nil
	}
	b, err := hex.DecodeString(seed)
	if err != nil {
		return 0, false, nil, ronghe.Errorf(ronghe.EINVALID, "sample seed must be hex")
	}
	sel, err := rules.Sample(b, d.amounts, n)
	if err != nil {
		return 0, false, nil, err
	}
	for _, s := range sel {
		picks = append(picks, pick{line: int(d.lines[s.Row]), hits: s.Hits})
	}
	return n, false, picks, nil
}

// SampleVerdict decides a compared sample: k of its n units fell on rows
// that differ from the source copy. A census has no sampling error: its
// bound is the exact rate k/n. Otherwise the bound is the one-sided
// Clopper–Pearson upper bound at the confidence (rules.ClopperPearsonUpper).
// The sample passes when the bound is at most the tolerable rate.
func SampleVerdict(k, n int, census bool, confidence, tolerable float64) (bound float64, pass bool) {
	switch {
	case n <= 0:
		return 0, true
	case census:
		bound = float64(k) / float64(n)
	default:
		bound = rules.ClopperPearsonUpper(k, n, confidence)
	}
	return bound, bound <= tolerable
}

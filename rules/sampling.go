package rules

import (
	"crypto/sha256"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Single-record sampling (RRS-1 §3.5, P01). On accepting a batch the server
// draws a sample of its TXN rows with probability proportional to amount,
// seeded by the batch's content digest so nobody can predict it before
// submission; the institution answers with the source-system copy of each
// sampled row; every row that differs is a finding; the batch passes when the
// one-sided Clopper–Pearson upper bound of the mismatch rate is at most the
// tolerable rate. The functions here are the pure parts of that loop: the
// size, the draw, the comparison and the bound. Money stays in integer cents;
// only the bound, a probability, is a float64.

// SampleSize returns n = ⌈ln(1 − confidence) / ln(1 − tolerable)⌉, capped at
// rows: 99 for 95 % confidence and a 3 % tolerable rate. Both parameters must
// be probabilities strictly between 0 and 1.
func SampleSize(confidence, tolerable float64, rows int) (int, error) {
	if !(confidence > 0 && confidence < 1) || !(tolerable > 0 && tolerable < 1) {
		return 0, ronghe.Errorf(ronghe.EINVALID, "sampling: confidence and tolerable rate must be strictly between 0 and 1")
	}
	n := int(math.Ceil(math.Log1p(-confidence) / math.Log1p(-tolerable)))
	return max(0, min(n, rows)), nil
}

// Selection is one sampled row: its index in the rows given to Sample and
// how many monetary units of the draw fell on it (a row larger than the
// sampling interval can be hit more than once; it is examined once).
type Selection struct {
	Row  int
	Hits int
}

// Sample draws a systematic monetary-unit sample of n units from rows whose
// amounts are given (in row order; rows with an amount ≤ 0 can never be
// drawn). The population is the sum T of the positive amounts in cents; the
// n units are s + k·T/n (k = 0 … n−1, exact integer arithmetic) for a start s
// uniform in [0, T) drawn from ChaCha8 seeded with SHA-256("RRS-1 P01" ‖
// digest); a row is selected when one of the units falls in its amount. The
// same digest and rows always give the same selection, on every platform.
// The result is in row order; it has fewer than n entries when rows are hit
// more than once.
func Sample(digest []byte, amounts []rrs.Amount, n int) ([]Selection, error) {
	if n <= 0 {
		return nil, nil
	}
	var total uint64
	for _, a := range amounts {
		if a <= 0 {
			continue
		}
		var carry uint64
		total, carry = bits.Add64(total, uint64(a), 0)
		if carry != 0 || total > math.MaxInt64 {
			return nil, ronghe.Errorf(ronghe.EINVALID, "sampling: the amounts add up to more than the draw can span")
		}
	}
	if total == 0 {
		return nil, nil
	}
	seed := sha256.Sum256(append([]byte("RRS-1 P01\x00"), digest...))
	rng := rand.New(rand.NewChaCha8(seed))
	start := rng.Uint64N(total)
	// Unit k lies at (start + ⌊k·T/n⌋) mod T.
	units := make([]uint64, n)
	for k := range units {
		hi, lo := bits.Mul64(uint64(k), total)
		q, _ := bits.Div64(hi, lo, uint64(n))
		units[k] = (start + q) % total
	}
	// Sort the units (they wrap around once).
	first := 0
	for k := 1; k < n; k++ {
		if units[k] < units[k-1] {
			first = k
			break
		}
	}
	units = append(units[first:], units[:first]...)
	var out []Selection
	var cum uint64
	u := 0
	for i, a := range amounts {
		if a <= 0 {
			continue
		}
		end := cum + uint64(a)
		hits := 0
		for u < len(units) && units[u] < end {
			hits++
			u++
		}
		if hits > 0 {
			out = append(out, Selection{Row: i, Hits: hits})
		}
		cum = end
	}
	return out, nil
}

// ClopperPearsonUpper returns the one-sided upper confidence bound of a
// binomial proportion after k failures in n trials: the p at which
// P(X ≤ k | n, p) = 1 − confidence, from the exact binomial distribution.
// It is 1 when k ≥ n and when n is 0.
func ClopperPearsonUpper(k, n int, confidence float64) float64 {
	if n <= 0 || k >= n {
		return 1
	}
	if k < 0 {
		k = 0
	}
	alpha := 1 - confidence
	lo, hi := 0.0, 1.0
	for i := 0; i < 200 && hi-lo > 1e-15; i++ {
		mid := (lo + hi) / 2
		if binomialCDF(k, n, mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// binomialCDF returns P(X ≤ k) for X ~ Binomial(n, p), summed in log space.
func binomialCDF(k, n int, p float64) float64 {
	switch {
	case p <= 0:
		return 1
	case p >= 1:
		if k >= n {
			return 1
		}
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	ln, _ := math.Lgamma(float64(n + 1))
	sum := 0.0
	for i := 0; i <= k; i++ {
		li, _ := math.Lgamma(float64(i + 1))
		lni, _ := math.Lgamma(float64(n - i + 1))
		sum += math.Exp(ln - li - lni + float64(i)*lp + float64(n-i)*lq)
	}
	return min(sum, 1)
}

// SamplingPasses reports whether a batch passes sampling with k mismatched
// rows among n examined: the Clopper–Pearson upper bound at the confidence
// is at most the tolerable rate.
func SamplingPasses(k, n int, confidence, tolerable float64) bool {
	return ClopperPearsonUpper(k, n, confidence) <= tolerable
}

// SampleParams returns the confidence and tolerable rate of the rule set's
// sample check (P01), and false when it has none.
func (rs *RuleSet) SampleParams() (rule string, confidence, tolerable float64, ok bool) {
	for _, r := range rs.Rules {
		for _, c := range r.Checks {
			if c.Kind == KindSample {
				return r.ID, c.Confidence, c.TolerableRate, true
			}
		}
	}
	return "", 0, 0, false
}

// CompareSample compares the sampled TXN rows of a batch (values in
// rrs.TXN field order) with the institution's answer, matched by txn_id, and
// returns one finding per sampled row that differs or is missing from the
// answer: rule P01 (or the rule set's sample rule), key txn_id, field the
// first differing field in definition order, and a message naming every
// differing field (never the values). Its length is the k of
// SamplingPasses.
func CompareSample(rs *RuleSet, batch rrs.BatchID, sampled, answer [][]string) ([]Finding, error) {
	rule, _, _, ok := rs.SampleParams()
	if !ok {
		return nil, ronghe.Errorf(ronghe.EINVALID, "rule set %s has no sample check", rs.Version)
	}
	r := rs.Rule(rule)
	rt := rs.Spec().Record(rrs.TXN)
	id := rt.Index("txn_id")
	byID := make(map[string][]string, len(answer))
	for _, a := range answer {
		if len(a) != len(rt.Fields) {
			return nil, ronghe.Errorf(ronghe.EINVALID, "sampling answer: a row has %d fields, TXN has %d", len(a), len(rt.Fields))
		}
		if _, dup := byID[a[id]]; dup {
			return nil, ronghe.Errorf(ronghe.EINVALID, "sampling answer: row %d repeats the txn_id of an earlier row", len(byID)+1)
		}
		byID[a[id]] = a
	}
	var out []Finding
	for _, s := range sampled {
		if len(s) != len(rt.Fields) {
			return nil, ronghe.Errorf(ronghe.EINVALID, "sampled row has %d fields, TXN has %d", len(s), len(rt.Fields))
		}
		f := Finding{Rule: r.ID, Severity: r.Severity, Batch: batch.String(), Type: string(rrs.TXN), Key: s[id]}
		a, ok := byID[s[id]]
		if !ok {
			f.Message = "the sampled row is missing from the institution's answer"
			out = append(out, f)
			continue
		}
		var diff []string
		for i := range rt.Fields {
			if a[i] != s[i] {
				diff = append(diff, rt.Fields[i].Name)
			}
		}
		if len(diff) > 0 {
			f.Field = diff[0]
			f.Message = fmt.Sprintf("the source-system copy differs in %s", strings.Join(diff, ", "))
			out = append(out, f)
		}
	}
	return out, nil
}

package governance

import (
	"container/heap"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strings"

	"github.com/ronghe/ronghe"
)

// P01 parameters (RRS-1 §3.5): 95 % confidence, 3 % tolerable mismatch rate.
// They are probabilities, not money.
const (
	DefaultConfidence    = 0.95
	DefaultTolerableRate = 0.03
)

// SampleSize is RRS-1 §3.5's n = ⌈ln(1 − confidence) / ln(1 − tolerable
// rate)⌉, capped at the population: 99 for the defaults.
func SampleSize(confidence, tolerable float64, population int64) int {
	if population <= 0 {
		return 0
	}
	n := math.Ceil(math.Log(1-confidence) / math.Log(1-tolerable))
	if n > float64(population) {
		return int(population)
	}
	return int(n)
}

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
// drawn. The seed is published with the sample, so the draw can be repeated
// from the seed and the batch.
func SampleSeed(key []byte, contentDigest string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("RRS-1 P01\n" + contentDigest))
	return hex.EncodeToString(m.Sum(nil))
}

// Candidate is a TXN row that can be drawn: its line, its txn_id and its
// amount in cents (> 0).
type Candidate struct {
	Line   int
	TxnID  string
	Amount int64
}

// Sampler draws n rows with probability proportional to amount
// (monetary-unit sampling) without replacement, from rows offered one at a
// time, in memory proportional to n.
//
// It is weighted reservoir sampling (Efraimidis and Spirakis, 2006): row i
// gets the key ln(uᵢ)/amountᵢ, where uᵢ ∈ (0, 1) is read from
// SHA-256(seed || txn_id), and the n rows with the largest keys are the
// sample. That is the same distribution as drawing one row at a time with
// probability proportional to amount among the rows not yet drawn, and the
// draw depends only on the seed and the rows, not on their order.
type Sampler struct {
	seed []byte
	n    int
	h    sampleHeap
	seen int64
}

// NewSampler returns a sampler of n rows under seed (hex).
func NewSampler(seed string, n int) (*Sampler, error) {
	b, err := hex.DecodeString(seed)
	if err != nil || len(b) == 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "sample seed must be hex")
	}
	return &Sampler{seed: b, n: n}, nil
}

// Key returns the sampling key of a row: larger keys are drawn first.
func (s *Sampler) Key(c Candidate) float64 {
	h := sha256.New()
	h.Write(s.seed)
	h.Write([]byte(c.TxnID))
	sum := h.Sum(nil)
	// 53 random bits, shifted into (0, 1).
	u := (float64(binary.BigEndian.Uint64(sum[:8])>>11) + 0.5) / (1 << 53)
	return math.Log(u) / float64(c.Amount)
}

// Offer considers one row; rows with an amount ≤ 0 are never drawn.
func (s *Sampler) Offer(c Candidate) {
	if c.Amount <= 0 || s.n <= 0 {
		return
	}
	s.seen++
	k := keyed{Candidate: c, key: s.Key(c)}
	if len(s.h) < s.n {
		heap.Push(&s.h, k)
		return
	}
	if k.less(s.h[0]) {
		return
	}
	s.h[0] = k
	heap.Fix(&s.h, 0)
}

// Population is the number of rows offered that could be drawn.
func (s *Sampler) Population() int64 { return s.seen }

// Rows returns the drawn rows in file order.
func (s *Sampler) Rows() []ronghe.SampleRow {
	out := make([]ronghe.SampleRow, 0, len(s.h))
	for _, k := range s.h {
		out = append(out, ronghe.SampleRow{Line: k.Line, TxnID: k.TxnID})
	}
	slices.SortFunc(out, func(a, b ronghe.SampleRow) int { return a.Line - b.Line })
	return out
}

type keyed struct {
	Candidate
	key float64
}

// less orders by key, ties (practically impossible) by the later line
// first, so the earlier line wins.
func (a keyed) less(b keyed) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.Line > b.Line
}

// sampleHeap is a min-heap of the drawn rows: the weakest on top.
type sampleHeap []keyed

func (h sampleHeap) Len() int           { return len(h) }
func (h sampleHeap) Less(i, j int) bool { return h[i].less(h[j]) }
func (h sampleHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sampleHeap) Push(x any)        { *h = append(*h, x.(keyed)) }
func (h *sampleHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// ClopperPearsonUpper is the one-sided upper confidence bound of a binomial
// proportion after k successes in n trials: the p at which P(X ≤ k) =
// 1 − confidence. It is 1 when k = n and 1 − (1 − confidence)^(1/n) when
// k = 0. It is computed by bisection on the binomial distribution function,
// to within 1e-12.
func ClopperPearsonUpper(k, n int, confidence float64) float64 {
	switch {
	case n <= 0:
		return 1
	case k >= n:
		return 1
	case k <= 0:
		return 1 - math.Pow(1-confidence, 1/float64(n))
	}
	alpha := 1 - confidence
	lo, hi := float64(k)/float64(n), 1.0
	for i := 0; i < 200 && hi-lo > 1e-12; i++ {
		mid := (lo + hi) / 2
		if BinomialCDF(k, n, mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// BinomialCDF is P(X ≤ k) for X ~ Binomial(n, p), summed in log space.
func BinomialCDF(k, n int, p float64) float64 {
	switch {
	case k < 0:
		return 0
	case k >= n:
		return 1
	case p <= 0:
		return 1
	case p >= 1:
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	lgn, _ := math.Lgamma(float64(n + 1))
	sum := 0.0
	for i := 0; i <= k; i++ {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		sum += math.Exp(lgn - a - b + float64(i)*lp + float64(n-i)*lq)
	}
	return math.Min(sum, 1)
}

// SampleVerdict decides a compared sample: k mismatching rows of n drawn
// from a population. When the sample is the whole population the mismatch
// rate is known exactly and is the bound; otherwise the bound is the
// one-sided Clopper–Pearson upper bound at the given confidence. The sample
// passes when the bound is at most the tolerable rate.
func SampleVerdict(k, n int, population int64, confidence, tolerable float64) (bound float64, pass bool) {
	if n <= 0 {
		return 0, true
	}
	if int64(n) >= population {
		bound = float64(k) / float64(n)
	} else {
		bound = ClopperPearsonUpper(k, n, confidence)
	}
	return bound, bound <= tolerable
}

package gen

import "math/bits"

// rng is the generator's pseudo-random source: SplitMix64 (Steele, Lea and
// Flood, 2014). It is tiny, fast, passes BigCrush, and — unlike math/rand —
// its output is fixed by this file alone, so the same seed yields the same
// region on every Go version and architecture. Every stream is derived from
// the configured seed and a few integers (a purpose tag, a day, an
// institution, an enterprise) with deriveRNG, so work can be split across
// goroutines in any order without changing a byte of output.
type rng struct{ s uint64 }

const golden = 0x9e3779b97f4a7c15

// mix64 is the SplitMix64 finaliser, a bijective avalanche of 64 bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// deriveRNG returns the stream for seed and the given keys. Streams for
// different key tuples are statistically independent.
func deriveRNG(seed int64, keys ...uint64) rng {
	s := mix64(uint64(seed) + golden)
	for _, k := range keys {
		s = mix64(s ^ mix64(k+golden))
	}
	return rng{s}
}

// Stream tags: the first key of every derived stream, so that, say, the
// economy of day 5 and the defects of day 5 never share random numbers.
const (
	tagRegion uint64 = iota + 1
	tagEnterprise
	tagPeople
	tagDay
	tagEntDay
	tagFX
	tagDefect
	tagInterest
)

func (r *rng) u64() uint64 {
	r.s += golden
	return mix64(r.s)
}

// intn returns a uniform integer in [0, n) without modulo bias (Lemire's
// multiply-and-reject method). n must be > 0.
func (r *rng) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.u64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.u64(), un)
		}
	}
	return int(hi)
}

// between returns a uniform integer in [lo, hi]; hi ≥ lo.
func (r *rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(r.intn(int(hi-lo+1)))
}

// chance reports true with probability permille/1000.
func (r *rng) chance(permille int) bool { return r.intn(1000) < permille }

// pick returns an index into weights with probability proportional to its
// weight. The weights must not all be zero.
func (r *rng) pick(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.intn(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// jitter returns v scaled by a log-normally distributed factor with mean 1
// and σ = 0.5 in log space (from lognormalPermille), so that amounts spread like real
// payment sizes without ever using floating point for money.
func (r *rng) jitter(v int64) int64 {
	return mulDiv(v, lognormalPermille[r.intn(len(lognormalPermille))], 1000)
}

// poisson returns a count with mean meanMilli/1000, drawn as a sum of
// Bernoulli trials (a binomial with the same mean, which for the small means
// used here is indistinguishable from a Poisson variable and needs no
// transcendental functions).
func (r *rng) poisson(meanMilli int64) int {
	if meanMilli <= 0 {
		return 0
	}
	n := int(meanMilli / 1000)
	frac := meanMilli % 1000
	// Spread the integer part over 2n trials of probability 1/2 (random
	// bits, counted 64 at a time) so that the count varies, and add one
	// trial for the fractional part.
	k := 0
	for bitsLeft := 2 * n; bitsLeft > 0; bitsLeft -= 64 {
		w := r.u64()
		if bitsLeft < 64 {
			w &= 1<<uint(bitsLeft) - 1
		}
		k += bits.OnesCount64(w)
	}
	if int64(r.intn(1000)) < frac {
		k++
	}
	return k
}

// lognormalPermille holds the quantiles at (2i+1)/128, i = 0…63 (the
// mid-points of 64 equal-probability bins) of a log-normal distribution with
// σ = 0.5, scaled so that their mean is exactly 1000 (so jitter preserves
// expected totals). It replaces exp(σ·N(0,1)) with an integer table lookup;
// computed once with Python's statistics.NormalDist and pasted here.
var lognormalPermille = [64]int64{
	264, 328, 367, 398, 424, 447, 468, 488,
	507, 525, 543, 560, 576, 592, 608, 624,
	640, 655, 670, 686, 701, 716, 732, 747,
	763, 778, 794, 810, 826, 843, 860, 877,
	894, 912, 930, 948, 967, 987, 1007, 1027,
	1049, 1071, 1094, 1118, 1143, 1169, 1196, 1225,
	1256, 1288, 1323, 1360, 1400, 1443, 1491, 1544,
	1604, 1673, 1753, 1849, 1971, 2136, 2391, 2965,
}

// mulDiv returns v·num/den rounded half away from zero, computed in 128 bits
// so that it cannot overflow for any int64 amount and 32-bit factor.
func mulDiv(v, num, den int64) int64 {
	neg := (v < 0) != (num < 0)
	if v < 0 {
		v = -v
	}
	if num < 0 {
		num = -num
	}
	hi, lo := bits.Mul64(uint64(v), uint64(num))
	// add den/2 for rounding
	lo, carry := bits.Add64(lo, uint64(den)/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, uint64(den))
	if neg {
		return -int64(q)
	}
	return int64(q)
}

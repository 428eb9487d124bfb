package rules

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

func TestSampleSize(t *testing.T) {
	tests := []struct {
		conf, tol float64
		rows      int
		want      int
		err       bool
	}{
		{0.95, 0.03, 1000, 99, false},
		{0.95, 0.03, 40, 40, false}, // capped at the row count
		{0.95, 0.03, 0, 0, false},
		{0.99, 0.05, 1000, 90, false},
		{0.90, 0.10, 1000, 22, false},
		{1, 0.03, 10, 0, true},
		{0.95, 0, 10, 0, true},
		{math.NaN(), 0.03, 10, 0, true},
	}
	for _, tc := range tests {
		got, err := SampleSize(tc.conf, tc.tol, tc.rows)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("SampleSize(%v, %v, %d) = %d, %v; want %d, error %v", tc.conf, tc.tol, tc.rows, got, err, tc.want, tc.err)
		}
	}
}

func TestClopperPearsonUpper(t *testing.T) {
	// k = 0 has the closed form 1 − (1 − c)^(1/n).
	for _, n := range []int{1, 10, 99, 500} {
		want := 1 - math.Pow(0.05, 1/float64(n))
		if got := ClopperPearsonUpper(0, n, 0.95); math.Abs(got-want) > 1e-9 {
			t.Errorf("k=0 n=%d: %v, want %v", n, got, want)
		}
	}
	tests := []struct {
		k, n int
		want float64 // exact: bisection over the binomial CDF in rational arithmetic (Python fractions)
	}{
		{1, 99, 0.047021},
		{2, 99, 0.062228},
		{5, 50, 0.198833},
		{10, 10, 1},
		{0, 0, 1},
	}
	for _, tc := range tests {
		got := ClopperPearsonUpper(tc.k, tc.n, 0.95)
		if math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("ClopperPearsonUpper(%d, %d) = %.5f, want %.5f", tc.k, tc.n, got, tc.want)
		}
		if tc.k < tc.n {
			// The defining property: P(X ≤ k | n, p_U) = 1 − confidence.
			if cdf := binomialCDF(tc.k, tc.n, got); math.Abs(cdf-0.05) > 1e-9 {
				t.Errorf("k=%d n=%d: CDF at the bound = %v, want 0.05", tc.k, tc.n, cdf)
			}
		}
	}
	// More failures, higher bound; more trials, lower bound.
	for k := 0; k < 20; k++ {
		if ClopperPearsonUpper(k, 99, 0.95) >= ClopperPearsonUpper(k+1, 99, 0.95) {
			t.Fatalf("bound not increasing in k at %d", k)
		}
		if ClopperPearsonUpper(k, 99, 0.95) <= ClopperPearsonUpper(k, 100, 0.95) {
			t.Fatalf("bound not decreasing in n at k=%d", k)
		}
	}
	// The default plan: 99 rows, no mismatch passes, one fails.
	if !SamplingPasses(0, 99, 0.95, 0.03) || SamplingPasses(1, 99, 0.95, 0.03) {
		t.Error("n = 99 at 95 % / 3 %: 0 mismatches must pass and 1 must fail")
	}
}

func digest(i int) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	d := sha256.Sum256(b[:])
	return d[:]
}

func TestSampleDeterministicAndProportional(t *testing.T) {
	amounts := make([]rrs.Amount, 50)
	var total float64
	for i := range amounts {
		amounts[i] = rrs.Amount((i + 1) * 100)
		total += float64(amounts[i])
	}
	amounts[7] = 0   // never drawn
	amounts[9] = -50 // never drawn
	total -= 800 + 1000
	a, err := Sample(digest(1), amounts, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Sample(digest(1), amounts, 5)
	if !slices.Equal(a, b) {
		t.Fatal("the same digest draws another sample")
	}
	const draws, n = 4000, 5
	hits := make([]float64, len(amounts))
	differs := 0
	for d := 0; d < draws; d++ {
		sel, err := Sample(digest(d), amounts, n)
		if err != nil {
			t.Fatal(err)
		}
		if d > 0 && !slices.Equal(sel, a) {
			differs++
		}
		sum := 0
		for i, s := range sel {
			if i > 0 && s.Row <= sel[i-1].Row {
				t.Fatal("selection not in row order")
			}
			if amounts[s.Row] <= 0 {
				t.Fatalf("row %d with amount %v drawn", s.Row, amounts[s.Row])
			}
			hits[s.Row] += float64(s.Hits)
			sum += s.Hits
		}
		if sum != n {
			t.Fatalf("draw %d: %d units, want %d", d, sum, n)
		}
	}
	if differs < draws/2 {
		t.Fatalf("only %d of %d digests drew another sample", differs, draws)
	}
	// Each row's share of the units is its share of the money.
	for i, h := range hits {
		want := draws * n * float64(max(amounts[i], 0)) / total
		if math.Abs(h-want) > 0.12*want+15 {
			t.Errorf("row %d (amount %v): %v hits, want about %.0f", i, amounts[i], h, want)
		}
	}
}

func TestSampleLargeRowsAndEdges(t *testing.T) {
	// A row worth most of the money is hit by several units, examined once.
	amounts := []rrs.Amount{100, 1_000_000, 100, 100}
	sel, err := Sample(digest(3), amounts, 4)
	if err != nil {
		t.Fatal(err)
	}
	big := -1
	for i, s := range sel {
		if s.Row == 1 {
			big = i
		}
	}
	if big < 0 || sel[big].Hits < 3 {
		t.Fatalf("the large row is not a certainty: %+v", sel)
	}
	if sel, _ := Sample(digest(3), []rrs.Amount{0, -1}, 3); len(sel) != 0 {
		t.Errorf("no positive amount: %+v", sel)
	}
	if sel, _ := Sample(digest(3), amounts, 0); len(sel) != 0 {
		t.Errorf("n = 0: %+v", sel)
	}
	if _, err := Sample(digest(3), []rrs.Amount{rrs.MaxAmount, rrs.MaxAmount, rrs.MaxAmount, rrs.MaxAmount, rrs.MaxAmount,
		rrs.MaxAmount, rrs.MaxAmount, rrs.MaxAmount, rrs.MaxAmount, rrs.MaxAmount}, 3); err == nil {
		t.Error("a total beyond the draw's span must be refused")
	}
}

func TestCompareSample(t *testing.T) {
	rs, err := Load("1.0")
	if err != nil {
		t.Fatal(err)
	}
	rt := rs.Spec().Record(rrs.TXN)
	row := func(id, amount, balance string) []string {
		v := make([]string, len(rt.Fields))
		v[rt.Index("txn_id")] = id
		v[rt.Index("amount")] = amount
		v[rt.Index("balance")] = balance
		return v
	}
	id := rrs.BatchID{InstCode: "B1234567890123", Date: rrs.Date{Y: 2025, M: 3, D: 1}, Seq: 1}
	sampled := [][]string{row("T1", "10.00", "5.00"), row("T2", "20.00", "6.00"), row("T3", "30.00", "7.00")}
	answer := [][]string{row("T1", "10.00", "5.00"), row("T2", "21.00", "9.00")}
	got, err := CompareSample(rs, id, sampled, answer)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "T2" || got[0].Field != "amount" || !strings.Contains(got[0].Message, "amount, balance") ||
		got[1].Key != "T3" || got[1].Field != "" || got[0].Rule != "P01" || got[0].Batch != id.String() {
		t.Fatalf("findings: %+v", got)
	}
	if _, err := CompareSample(rs, id, sampled, [][]string{{"short"}}); err == nil {
		t.Error("a malformed answer row must be refused")
	}
}

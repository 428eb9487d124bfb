package rules

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/ronghe/ronghe/rrs"
)

// TestSeqStateFlush: the summaries of a file whose partitions' rows are
// interleaved, some out of txn_seq order with ties, are those of each
// partition's rows taken alone in txn_seq order (ties by line), and a
// second file on the same state starts afresh.
func TestSeqStateFlush(t *testing.T) {
	rs, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, err := compile(rs)
	if err != nil {
		t.Fatal(err)
	}
	q := p.sequencesOf(rrs.TXN)[0]
	rt := q.rt
	rng := rand.New(rand.NewPCG(1, 2))
	st := newSeqState(q)
	for file := 0; file < 3; file++ {
		byPart := map[string][]seqRow{}
		var order []string // partitions in order of first appearance
		for line := 2; line < 2+500+file*300; line++ {
			acct := fmt.Sprintf("A%03d", rng.IntN(40+file*10))
			if _, ok := byPart[acct]; !ok {
				order = append(order, acct)
			}
			seq := len(byPart[acct]) + 1
			if rng.IntN(10) == 0 {
				seq = rng.IntN(seq) + 1 // out of order, or a tie
			}
			amount := int64(rng.IntN(100000) + 1)
			balance := int64(rng.IntN(1000000))
			flag := []string{"D", "C", "X"}[rng.IntN(3)]
			vals := make([]string, len(rt.Fields))
			vals[q.part] = acct
			vals[q.order] = fmt.Sprint(seq)
			vals[q.amount] = rrs.Amount(amount).String()
			vals[q.balance] = rrs.Amount(balance).String()
			vals[q.signIx] = flag
			st.add(vals, line)
			r := seqRow{order: int64(seq), balance: balance, line: int32(line)}
			switch flag {
			case "C":
				r.sign, r.delta = 1, amount
			case "D":
				r.sign, r.delta = -1, -amount
			}
			byPart[acct] = append(byPart[acct], r)
		}
		got := st.flush(file)
		var want []seqSummary
		for _, acct := range order {
			rows := byPart[acct]
			slices.SortStableFunc(rows, func(a, b seqRow) int { return cmpInt64(a.order, b.order) })
			want = append(want, summarize(file, acct, rows))
		}
		if len(got) != len(want) {
			t.Fatalf("file %d: %d summaries, want %d", file, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("file %d, partition %s:\n got %+v\nwant %+v", file, want[i].part, got[i], want[i])
			}
		}
	}
}

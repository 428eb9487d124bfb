package gen

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ronghe/ronghe/rrs"
)

func TestDbgBig(t *testing.T) {
	ents, _ := strconv.Atoi(os.Getenv("GEN_ENTS"))
	days, _ := strconv.Atoi(os.Getenv("GEN_DAYS"))
	if ents == 0 {
		t.Skip()
	}
	cfg := Config{Seed: 3, Institutions: 20, Enterprises: ents, People: ents * 5, Start: rrs.Date{Y: 2025, M: 3, D: 1}, Days: days, OutDir: os.Getenv("GEN_OUT")}
	t0 := time.Now()
	s, err := Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d txn rows in %v: %.0f rows/s, %d MB", s.Rows[rrs.TXN], time.Since(t0), float64(s.Rows[rrs.TXN])/time.Since(t0).Seconds(), s.Bytes>>20)
}

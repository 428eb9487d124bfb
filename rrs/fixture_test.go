package rrs

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixtureBatch = "testdata/B0001H13501001_20240131_1"

// readBatch returns every file's rows of an opened batch.
func readBatch(t *testing.T, b *Batch) map[Type][][]string {
	t.Helper()
	out := map[Type][][]string{}
	for _, ty := range b.Files() {
		r, err := b.Open(ty)
		if err != nil {
			t.Fatal(err)
		}
		out[ty] = readAll(t, r)
		r.Close()
	}
	return out
}

// The fixture is a small, fully valid month-end batch (header in another
// order, CRLF lines, a quoted line break, "99.5"): every value passes the
// field checks and the control totals match the files.
func TestFixtureBatch(t *testing.T) {
	b, err := OpenBatch(fixtureBatch, UTF8)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.ID().Date.IsMonthEnd() || b.ID().InstCode != "B0001H13501001" {
		t.Fatalf("ID %v", b.ID())
	}
	if got := fmt.Sprint(b.Files()); got != "[ACCT TXN BAL GL STAT FXP CTL]" {
		t.Fatalf("Files %s", got)
	}
	data := readBatch(t, b)
	for ty, rows := range data {
		rt := V1_0.Record(ty)
		for i, row := range rows {
			if issues := rt.CheckRow(row); len(issues) > 0 {
				t.Errorf("%s row %d: %v", ty, i+1, issues)
			}
		}
	}
	if rem := data[TXN][1][rtIndex(TXN, "remark")]; rem != "代发工资\n（1月）" {
		t.Errorf("remark %q", rem)
	}
	// Control totals (a miniature of rule T01).
	for _, ctl := range data[CTL] {
		ty := Type(ctl[0])
		rows := data[ty]
		if fmt.Sprint(len(rows)) != ctl[1] {
			t.Errorf("CTL %s count %s, file has %d", ty, ctl[1], len(rows))
		}
		if f, ok := CTLSumField(ty); ok {
			var sum Sum
			for _, row := range rows {
				a, err := ParseAmount(row[rtIndex(ty, f)])
				if err != nil {
					t.Fatal(err)
				}
				sum.Add(a)
			}
			tot, _ := sum.Total()
			if tot.String() != ctl[2] {
				t.Errorf("CTL %s sum %s, file sums to %s", ty, ctl[2], tot)
			}
		}
	}
}

func rtIndex(t Type, field string) int { return V1_0.Record(t).Index(field) }

// Converting the fixture to a GB18030 zip (in the batch folder) and reading
// it back gives the same rows.
func TestFixtureAsGB18030Zip(t *testing.T) {
	src, err := OpenBatch(fixtureBatch, UTF8)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := readBatch(t, src)

	name := filepath.Base(fixtureBatch)
	p := filepath.Join(t.TempDir(), name+".zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, ty := range src.Files() {
		zf, err := zw.Create(name + "/" + ty.FileName())
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(zf, V1_0.Record(ty), GB18030)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range want[ty] {
			if err := w.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	f.Close()

	zb, err := OpenBatch(p, GB18030)
	if err != nil {
		t.Fatal(err)
	}
	defer zb.Close()
	got := readBatch(t, zb)
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("GB18030 zip differs:\n got %q\nwant %q", got, want)
	}
	// Declared UTF-8, the same zip is refused with a clear message.
	ub, err := OpenBatch(p, UTF8)
	if err != nil {
		t.Fatal(err)
	}
	defer ub.Close()
	r, err := ub.Open(ACCT)
	if err == nil {
		_, err = r.Next()
		for err == nil {
			_, err = r.Next()
		}
		r.Close()
	}
	if err == io.EOF || !strings.Contains(fmt.Sprint(err), "declare GB18030") {
		t.Errorf("GB18030 zip read as UTF-8: %v", err)
	}
}

package rrsarrow

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

func txnRow(i int) []string {
	remark := ""
	if i%3 == 0 {
		remark = "货款"
	}
	return []string{
		"C1234567890123", "6222020200112233", fmt.Sprintf("T%09d", i), "2024-01-31", "09:15:07",
		fmt.Sprint(i + 1), "D", fmt.Sprintf("%d.%02d", i, i%99+1), "CNY", "-98765.43", "", "福州某某贸易有限公司",
		"", "91350100M000100Y43", "02", "GDS", remark,
	}
}

func txnCSV(t testing.TB, n int, extra ...[]string) []byte {
	var buf bytes.Buffer
	w, err := rrs.NewWriter(&buf, rrs.V1_0.Record(rrs.TXN), rrs.GB18030)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := w.Write(txnRow(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range extra {
		w.Write(r)
	}
	w.Flush()
	return buf.Bytes()
}

func TestSchema(t *testing.T) {
	s := Schema(rrs.V1_0.Record(rrs.FXP), true)
	if s.Field(0).Name != LineColumn || s.NumFields() != 13 {
		t.Fatalf("schema %v", s)
	}
	f, _ := s.FieldsByName("amount")
	if len(f) != 1 || !arrow.TypeEqual(f[0].Type, Decimal) || f[0].Nullable {
		t.Errorf("amount %v", f)
	}
	p, _ := s.FieldsByName("person_id")
	if v, ok := p[0].Metadata.GetValue("rrs.pi"); !ok || v != "C2" {
		t.Errorf("person_id metadata %v", p[0].Metadata)
	}
	if v, _ := s.Metadata().GetValue("rrs.key"); v != "txn_id" {
		t.Errorf("key metadata %q", v)
	}
	d, _ := s.FieldsByName("txn_date")
	if d[0].Type.ID() != arrow.DATE32 {
		t.Errorf("txn_date %v", d[0].Type)
	}
}

func TestReader(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 1000
	src, err := rrs.NewReader(bytes.NewReader(txnCSV(t, n)), rrs.V1_0.Record(rrs.TXN), rrs.GB18030, "TXN.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(src, Options{BatchRows: 300, Mem: mem, Line: true})
	defer r.Release()
	var sizes []int64
	row := 0
	for r.Next() {
		rec := r.RecordBatch()
		sizes = append(sizes, rec.NumRows())
		lines := rec.Column(0).(*array.Int64)
		amt := rec.Column(1 + 7).(*array.Decimal128)
		date := rec.Column(1 + 3).(*array.Date32)
		tm := rec.Column(1 + 4).(*array.Time32)
		seq := rec.Column(1 + 5).(*array.Int64)
		bal := rec.Column(1 + 9).(*array.Decimal128)
		name := rec.Column(1 + 11).(*array.String)
		cpAcct := rec.Column(1 + 10).(*array.String)
		remark := rec.Column(1 + 16).(*array.String)
		for j := 0; j < int(rec.NumRows()); j++ {
			i := row + j
			if lines.Value(j) != int64(i+2) {
				t.Fatalf("row %d line %d", i, lines.Value(j))
			}
			if got, want := amt.Value(j).LowBits(), uint64(i*100+i%99+1); got != want || amt.Value(j).HighBits() != 0 {
				t.Fatalf("row %d amount %v, want %d cents", i, amt.Value(j), want)
			}
			if bal.Value(j).ToString(2) != "-98765.43" {
				t.Fatalf("balance %s", bal.Value(j).ToString(2))
			}
			if date.Value(j).ToTime().Format("2006-01-02") != "2024-01-31" {
				t.Fatalf("date %v", date.Value(j).ToTime())
			}
			if tm.Value(j) != 9*3600+15*60+7 || seq.Value(j) != int64(i+1) {
				t.Fatalf("time %v seq %v", tm.Value(j), seq.Value(j))
			}
			if name.Value(j) != "福州某某贸易有限公司" || !cpAcct.IsNull(j) {
				t.Fatalf("strings %q %v", name.Value(j), cpAcct.IsNull(j))
			}
			if (i%3 == 0) == remark.IsNull(j) {
				t.Fatalf("remark null %v at %d", remark.IsNull(j), i)
			}
		}
		row += int(rec.NumRows())
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	if fmt.Sprint(sizes) != "[300 300 300 100]" {
		t.Errorf("batch sizes %v", sizes)
	}
}

func TestReaderStopsOnBadValue(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	bad := txnRow(7)
	bad[7] = "1.234"
	src, err := rrs.NewReader(bytes.NewReader(txnCSV(t, 5, bad)), rrs.V1_0.Record(rrs.TXN), rrs.GB18030, "TXN.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(src, Options{BatchRows: 100, Mem: mem})
	defer r.Release()
	if r.Next() {
		t.Fatal("batch despite a bad value")
	}
	var pe *rrs.ParseError
	if !errors.As(r.Err(), &pe) || pe.Line != 7 || pe.Column != 8 || ronghe.ErrorCode(r.Err()) != ronghe.EINVALID {
		t.Fatalf("error %v", r.Err())
	}
	if !strings.Contains(r.Err().Error(), "TXN.csv:7: field 8: L02 amount") {
		t.Errorf("message %q", r.Err())
	}
}

func BenchmarkReaderTXN(b *testing.B) {
	data := txnCSV(b, 20000)
	b.SetBytes(int64(len(data)))
	rows := 0
	for b.Loop() {
		src, err := rrs.NewReader(bytes.NewReader(data), rrs.V1_0.Record(rrs.TXN), rrs.GB18030, "TXN.csv")
		if err != nil {
			b.Fatal(err)
		}
		r := NewReader(src, Options{})
		for r.Next() {
			rows += int(r.RecordBatch().NumRows())
		}
		if r.Err() != nil {
			b.Fatal(r.Err())
		}
		r.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

package rules

import (
	"context"
	"database/sql"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ronghe/ronghe/rrs"
)

// probeRaw checks that writing vector memory directly (rawchunk.go) gives
// exactly the values DuckDB then reads: integers, booleans, dates, short
// and long strings (multi-byte too), and NULLs. It returns false on any
// difference or error, and the engine then stages through duckdb-go.
func probeRaw(ctx context.Context, conn *sql.Conn) bool {
	p := &probeSource{}
	tf := duckdb.ChunkTableFunction{
		BindArguments: func(map[string]any, ...any) (duckdb.ChunkTableSource, error) { return p, nil },
	}
	if err := duckdb.RegisterTableUDF(conn, "rrs_probe", tf); err != nil {
		return false
	}
	defer p.arena.release()
	rows, err := conn.QueryContext(ctx, "SELECT _batch, _line, _ok, _keyok, _dup, _kh, s, l, m, strftime(d, '%Y-%m-%d'), CAST(h AS VARCHAR) FROM rrs_probe()")
	if err != nil {
		return false
	}
	defer rows.Close()
	type row struct {
		batch, line    int32
		ok, keyok, dup bool
		kh             int64
		s, l           sql.NullString
		m              sql.NullInt64
		d              sql.NullString
		h              string
	}
	want := []row{
		{7, 2, true, false, true, -3, sql.NullString{String: "abc", Valid: true}, sql.NullString{String: "a string longer than twelve", Valid: true},
			sql.NullInt64{Int64: -12345, Valid: true}, sql.NullString{String: "2024-02-29", Valid: true}, "-5"},
		{8, 3, false, true, false, 1 << 62, sql.NullString{}, sql.NullString{String: "名字超过十二字节的字符串", Valid: true}, sql.NullInt64{}, sql.NullString{}, "18446744073709551616"},
		{9, 4, true, true, false, 0, sql.NullString{String: "123456789012", Valid: true}, sql.NullString{String: "", Valid: true},
			sql.NullInt64{Int64: 999_999_999_999_999_999, Valid: true}, sql.NullString{String: "1970-01-01", Valid: true}, "0"},
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.batch, &r.line, &r.ok, &r.keyok, &r.dup, &r.kh, &r.s, &r.l, &r.m, &r.d, &r.h); err != nil {
			return false
		}
		got = append(got, r)
	}
	if rows.Err() != nil || len(got) != len(want) || p.err != nil {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// probeSource writes the probe's rows through the raw path.
type probeSource struct {
	done  bool
	arena arena
	err   error
}

func (p *probeSource) ColumnInfos() []duckdb.ColumnInfo {
	mk := func(t duckdb.Type) duckdb.TypeInfo { ti, _ := duckdb.NewTypeInfo(t); return ti }
	return []duckdb.ColumnInfo{
		{Name: "_batch", T: mk(duckdb.TYPE_INTEGER)}, {Name: "_line", T: mk(duckdb.TYPE_INTEGER)},
		{Name: "_ok", T: mk(duckdb.TYPE_BOOLEAN)}, {Name: "_keyok", T: mk(duckdb.TYPE_BOOLEAN)},
		{Name: "_dup", T: mk(duckdb.TYPE_BOOLEAN)}, {Name: "_kh", T: mk(duckdb.TYPE_BIGINT)},
		{Name: "s", T: mk(duckdb.TYPE_VARCHAR)}, {Name: "l", T: mk(duckdb.TYPE_VARCHAR)},
		{Name: "m", T: mk(duckdb.TYPE_BIGINT)}, {Name: "d", T: mk(duckdb.TYPE_DATE)},
		{Name: "h", T: mk(duckdb.TYPE_HUGEINT)},
	}
}

func (p *probeSource) Cardinality() *duckdb.CardinalityInfo { return nil }

func (p *probeSource) Init() {}

func (p *probeSource) FillChunk(chunk duckdb.DataChunk) error {
	if p.done {
		return chunk.SetSize(0)
	}
	p.done = true
	raw, ok := rawColumns(&chunk, 11)
	if !ok {
		p.err = errProbe
		return chunk.SetSize(0)
	}
	w := chunkWriter{chunk: chunk, raw: raw, arena: &p.arena}
	w.meta(0, 7, 2, true, false, true, -3)
	w.text(6, 0, "abc")
	w.text(7, 0, "a string longer than twelve")
	w.int64(8, 0, -12345)
	w.date(9, 0, rrs.Date{Y: 2024, M: time.February, D: 29})
	var neg int128
	neg.add(-5)
	w.hugeint(10, 0, neg)
	w.meta(1, 8, 3, false, true, false, 1<<62)
	w.null(6, 1)
	w.text(7, 1, "名字超过十二字节的字符串")
	w.null(8, 1)
	w.null(9, 1)
	var big int128
	big.add(1<<63 - 1)
	big.add(1<<63 - 1)
	big.add(2)
	w.hugeint(10, 1, big)
	w.meta(2, 9, 4, true, true, false, 0)
	w.text(6, 2, "123456789012")
	w.text(7, 2, "")
	w.int64(8, 2, 999_999_999_999_999_999)
	w.date(9, 2, rrs.Date{Y: 1970, M: time.January, D: 1})
	w.hugeint(10, 2, int128{})
	return chunk.SetSize(3)
}

type probeError struct{}

func (probeError) Error() string { return "rrs_probe: raw chunk layout not available" }

var errProbe error = probeError{}

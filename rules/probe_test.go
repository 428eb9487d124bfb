package rules

import (
	"context"
	"database/sql"
	"testing"
)

// TestProbeRaw: writing DuckDB's vector memory directly works with the
// pinned duckdb-go (if it stops working the engine falls back, slower; this
// test says so).
func TestProbeRaw(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !probeRaw(context.Background(), conn) {
		t.Fatal("raw chunk writes do not read back: staging would take the slow path")
	}
}

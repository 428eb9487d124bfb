package sqltest

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
)

func TestWithSearchPath(t *testing.T) {
	for _, tc := range []struct {
		dsn, want string
	}{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=s1"},
		{"postgres://u@h/db?search_path=old", "postgres://u@h/db?search_path=s1"},
		{"host=h dbname=db ", "host=h dbname=db search_path=s1"},
	} {
		got, err := WithSearchPath(tc.dsn, "s1")
		if err != nil || got != tc.want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, dsn := range []string{"postgres://u:secret@h/db", "host=h password=secret user=u"} {
		if got := redact(dsn); strings.Contains(got, "secret") {
			t.Errorf("redact(%q) = %q", dsn, got)
		}
	}
}

func TestSQLiteDSN(t *testing.T) {
	dsn := SQLite(t)
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok || !strings.HasSuffix(path, "meta.db") {
		t.Fatalf("SQLite = %q", dsn)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the file exists before the store creates it: %v", err)
	}
}

// TestPostgresSchema checks that the DSN lands in a fresh schema of its own
// and that the schema is dropped when the test ends.
func TestPostgresSchema(t *testing.T) {
	base := PostgresBase(t)
	var schema string
	t.Run("use", func(t *testing.T) {
		db, err := sql.Open("pgx", Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRowContext(context.Background(), `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "ronghe_test_") {
			t.Fatalf("current_schema = %q", schema)
		}
		if _, err := db.ExecContext(context.Background(), `CREATE TABLE probe (x int)`); err != nil {
			t.Fatal(err)
		}
	})
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s was not dropped", schema)
	}
}

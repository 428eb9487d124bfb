// Package sqltest gives tests a fresh, isolated database for the metadata
// store: an SQLite file in a temporary directory, or a new schema in a test
// PostgreSQL database that is dropped when the test ends. Any package whose
// tests need the store (or keeps its own tables beside it) can use it.
//
// PostgreSQL is found through the environment variable RONGHE_TEST_POSTGRES
// (a DSN), defaulting to DefaultPostgresDSN. When the server cannot be
// reached the test is skipped, unless RONGHE_REQUIRE_POSTGRES=1 (as CI sets
// it), in which case the test fails.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Environment variables that select and require the test PostgreSQL.
const (
	// EnvPostgres names a PostgreSQL DSN to test against.
	EnvPostgres = "RONGHE_TEST_POSTGRES"
	// EnvRequirePostgres, set to 1, turns an unreachable PostgreSQL from a
	// skip into a failure.
	EnvRequirePostgres = "RONGHE_REQUIRE_POSTGRES"
)

// DefaultPostgresDSN is used when EnvPostgres is unset: a local server with
// trust authentication and a database named test.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// connectTimeout bounds the reachability check so that a missing server
// costs a test run seconds, not minutes.
const connectTimeout = 3 * time.Second

// SQLite returns a store DSN for a new SQLite file in the test's temporary
// directory, removed with it.
func SQLite(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "meta.db")
}

// PostgresBase returns the DSN of the test PostgreSQL server after checking
// that it answers, skipping or failing the test as described in the package
// documentation when it does not.
func PostgresBase(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		dsn = DefaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	db, err := sql.Open("pgx", dsn)
	if err == nil {
		err = db.PingContext(ctx)
		_ = db.Close()
	}
	if err != nil {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("PostgreSQL not reachable at %s (required by %s=1): %v", redact(dsn), EnvRequirePostgres, err)
		}
		t.Skipf("PostgreSQL not reachable at %s; set %s: %v", redact(dsn), EnvPostgres, err)
	}
	return dsn
}

// Postgres creates a schema named ronghe_test_<random> in the test
// PostgreSQL database and returns a DSN whose search_path is that schema, so
// everything the test creates lands there. The schema and its contents are
// dropped when the test ends; close handles opened on the DSN with
// t.Cleanup (registered after this call) so they close first.
func Postgres(t testing.TB) string {
	t.Helper()
	base := PostgresBase(t)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("sqltest: random schema name: %v", err)
	}
	schema := "ronghe_test_" + hex.EncodeToString(b[:])

	// The administrative connection lives only as long as each statement,
	// so that many parallel tests do not pin server connections.
	if err := adminExec(base, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("sqltest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := adminExec(base, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("sqltest: drop schema %s: %v", schema, err)
		}
	})
	dsn, err := WithSearchPath(base, schema)
	if err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	return dsn
}

// adminExec runs one statement on its own short-lived connection.
func adminExec(dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// WithSearchPath returns dsn with its search_path run-time parameter set to
// schema. It accepts URL DSNs and keyword=value DSNs.
func WithSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("malformed PostgreSQL DSN %s: %w", redact(dsn), err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return strings.TrimSpace(dsn) + " search_path=" + schema, nil
}

// redact hides a password in a DSN before it is printed.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	var parts []string
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(f, "password=") {
			f = "password=xxxxx"
		}
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}

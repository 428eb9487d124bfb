package sqlstore

import (
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ronghe/ronghe"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"INSERT INTO t VALUES (?, '?', ?)", "INSERT INTO t VALUES ($1, '?', $2)"},
		{`SELECT "odd?col" FROM t WHERE x = ?`, `SELECT "odd?col" FROM t WHERE x = $1`},
		{"SELECT 'it''s?' , ?", "SELECT 'it''s?' , $1"},
		{strings.Repeat("?,", 11) + "?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12"},
	} {
		if got := postgresDialect.rebind(tc.in); got != tc.want {
			t.Errorf("postgres rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := sqliteDialect.rebind(tc.in); got != tc.in {
			t.Errorf("sqlite rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn       string
		dialect   string
		path      string // SQLite file the driver DSN must name
		keepParam string // a caller's parameter that must survive
	}{
		{"postgres://u@h:5432/db?sslmode=disable", DialectPostgres, "", ""},
		{"postgresql://u@h/db", DialectPostgres, "", ""},
		{"sqlite:/var/lib/ronghe/meta.db", DialectSQLite, "/var/lib/ronghe/meta.db", ""},
		{"sqlite:///var/lib/ronghe/meta.db", DialectSQLite, "/var/lib/ronghe/meta.db", ""},
		{"sqlite:rel/meta.db", DialectSQLite, "rel/meta.db", ""},
		{"/tmp/meta.db", DialectSQLite, "/tmp/meta.db", ""},
		{"meta.db?_pragma=cache_size(-20000)&_txlock=deferred&_pragma=busy_timeout(1)", DialectSQLite, "meta.db", "cache_size(-20000)"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, driverName, driverDSN, err := parseDSN(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if d.name != tc.dialect {
				t.Fatalf("dialect = %s, want %s", d.name, tc.dialect)
			}
			if d.name == DialectPostgres {
				if driverName != "pgx" || driverDSN != tc.dsn {
					t.Errorf("driver = %s %s", driverName, driverDSN)
				}
				return
			}
			path, rawQuery, _ := strings.Cut(driverDSN, "?")
			if driverName != "sqlite" || path != tc.path {
				t.Errorf("driver = %s, path %q, want sqlite, %q", driverName, path, tc.path)
			}
			q, err := url.ParseQuery(rawQuery)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Get("_txlock"); got != "immediate" {
				t.Errorf("_txlock = %q, want immediate", got)
			}
			pragmas := strings.Join(q["_pragma"], " ")
			for _, want := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)", tc.keepParam} {
				if !strings.Contains(pragmas, want) {
					t.Errorf("pragmas %q lack %q", pragmas, want)
				}
			}
			if strings.Contains(pragmas, "busy_timeout(1)") {
				t.Errorf("the caller's busy_timeout was kept: %q", pragmas)
			}
		})
	}
}

// TestSQLitePragmasInEffect checks, on pooled connections, the settings the
// store's concurrency relies on.
func TestSQLitePragmasInEffect(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"synchronous", "2"},
	} {
		var got string
		if err := db.SQL().QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	// Foreign keys are enforced: a file row needs its submission.
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO submission_files (tenant, message_id, pos, name, size, digest) VALUES ('a', 'b', 0, 'c', 1, 'd')`)
	if err == nil {
		t.Error("a file without a submission was inserted")
	}
}

// TestMigrationsMatch checks that both dialects have the same migrations and
// the same tables, columns and indexes, so neither can drift.
func TestMigrationsMatch(t *testing.T) {
	lite, err := loadMigrations(migrationFiles, DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(migrationFiles, DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	ident := regexp.MustCompile(`(?m)^\s*(CREATE (?:UNIQUE )?(?:TABLE|INDEX) \w+|[a-z_]+)\s`)
	for i := range lite {
		if lite[i].version != pg[i].version || lite[i].name != pg[i].name {
			t.Errorf("migration %d: sqlite %04d_%s, postgres %04d_%s", i, lite[i].version, lite[i].name, pg[i].version, pg[i].name)
		}
		a := ident.FindAllString(lite[i].sql, -1)
		b := ident.FindAllString(pg[i].sql, -1)
		if strings.Join(a, "|") != strings.Join(b, "|") {
			t.Errorf("migration %04d declares different objects:\nsqlite   %q\npostgres %q", lite[i].version, a, b)
		}
	}
}

func TestLoadMigrationsRejects(t *testing.T) {
	for name, files := range map[string]fstest.MapFS{
		"bad name":  {"migrations/x/init.sql": {Data: []byte("SELECT 1")}},
		"zero":      {"migrations/x/0000_init.sql": {Data: []byte("SELECT 1")}},
		"duplicate": {"migrations/x/0001_a.sql": {Data: []byte("SELECT 1")}, "migrations/x/01_b.sql": {Data: []byte("SELECT 1")}},
		"missing":   {},
	} {
		if _, err := loadMigrations(files, "x"); err == nil {
			t.Errorf("%s: loadMigrations succeeded", name)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{
		"migrations/x/0010_later.sql": {Data: []byte("B")},
		"migrations/x/0002_early.sql": {Data: []byte("A")},
		"migrations/x/README":         {Data: []byte("ignored")},
	}, "x")
	if err != nil || len(ms) != 2 || ms[0].version != 2 || ms[1].name != "later" {
		t.Errorf("loadMigrations = %+v, %v", ms, err)
	}
}

// TestMigrationNameMismatch checks that a database migrated by a build whose
// migration of the same number differs is refused rather than half-used.
func TestMigrationNameMismatch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE schema_migrations SET name = 'something_else' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(ctx, path); err == nil {
		db.Close()
		t.Fatal("Open accepted a database with a foreign migration 1")
	}
}

func TestParseTimeValue(t *testing.T) {
	want := time.Date(2025, 3, 31, 15, 59, 58, 123456000, time.UTC)
	for _, tc := range []struct {
		name string
		src  any
		ok   bool
		bad  bool
	}{
		{"nil", nil, false, false},
		{"time in Shanghai", want.In(time.FixedZone("CST", 8*3600)), true, false},
		{"sqlite text", "2025-03-31T15:59:58.123456Z", true, false},
		{"sqlite bytes", []byte("2025-03-31T15:59:58.123456Z"), true, false},
		{"RFC 3339 with offset", "2025-03-31T23:59:58.123456+08:00", true, false},
		{"garbage", "yesterday", false, true},
		{"number", int64(5), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := parseTimeValue(tc.src)
			if (err != nil) != tc.bad || ok != tc.ok {
				t.Fatalf("parseTimeValue = %v, %v, %v", got, ok, err)
			}
			if ok && (!got.Equal(want) || got.Location() != time.UTC) {
				t.Errorf("time = %v, want %v UTC", got, want)
			}
		})
	}
	// Stored text sorts chronologically.
	early := sqliteDialect.timeArg(time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC)).(string)
	late := sqliteDialect.timeArg(time.Date(2025, 1, 1, 0, 0, 0, 1000, time.UTC)).(string)
	later := sqliteDialect.timeArg(time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC)).(string)
	if !(early < late && late < later) || len(early) != len(later) {
		t.Errorf("stored times do not sort: %q %q %q", early, late, later)
	}
}

func TestListLimitAndLogIndex(t *testing.T) {
	for in, want := range map[int]int{0: DefaultListLimit, 1: 1, MaxListLimit: MaxListLimit, MaxListLimit + 1: MaxListLimit} {
		if got, err := listLimit(in); err != nil || got != want {
			t.Errorf("listLimit(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := listLimit(-1); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("listLimit(-1) = %v", err)
	}
	if _, err := logIndexArg(1 << 63); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("logIndexArg(2^63) = %v", err)
	}
	if v, err := logIndexArg(1<<63 - 1); err != nil || v != 1<<63-1 {
		t.Errorf("logIndexArg(2^63-1) = %d, %v", v, err)
	}
}

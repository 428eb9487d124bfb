package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// migrationFiles holds the schema, one directory per dialect. Files are named
// NNNN_name.sql; both directories hold the same versions and names.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations of one dialect, ordered by version.
func loadMigrations(fsys fs.FS, dialectName string) ([]migration, error) {
	dir := path.Join("migrations", dialectName)
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading migrations of %s: %w", dialectName, err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || name == "" {
			return nil, fmt.Errorf("sqlstore: migration file %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlstore: migration version %d appears twice (%s, %s)", v, prev, e.Name())
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the pending migrations in one transaction. On PostgreSQL
// the transaction first takes a transaction-scoped advisory lock for the
// current schema, so processes starting together apply each migration once:
// the later ones wait, then find nothing left to do. On SQLite the IMMEDIATE
// transaction does the same.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFiles, db.d.name)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "metadata store: cannot read schema migrations")
	}
	return db.inTx(ctx, "migrate schema", func(c conn) error {
		if db.d.migrateLock != "" {
			if _, err := c.exec(ctx, db.d.migrateLock); err != nil {
				return err
			}
		}
		if _, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at `+db.d.timestamp+` NOT NULL)`); err != nil {
			return err
		}
		applied := map[int]string{}
		rows, err := c.query(ctx, `SELECT version, name FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			var name string
			if err := rows.Scan(&v, &name); err != nil {
				rows.Close()
				return err
			}
			applied[v] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		known := map[int]bool{}
		for _, m := range ms {
			known[m.version] = true
			if name, ok := applied[m.version]; ok {
				if name != m.name {
					return ronghe.Errorf(ronghe.EINTERNAL, "metadata store: schema version %d was applied as %q but this build calls it %q", m.version, name, m.name)
				}
				continue
			}
			if _, err := c.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("applying migration %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := c.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, db.d.timeArg(time.Now())); err != nil {
				return err
			}
			slog.InfoContext(ctx, "sqlstore: applied schema migration", "dialect", db.d.name, "version", m.version, "name", m.name)
		}
		for v, name := range applied {
			if !known[v] {
				// A newer build migrated this database. Its migrations are
				// additive, so an older build may still run during a rollout.
				slog.WarnContext(ctx, "sqlstore: database has a schema migration this build does not know", "version", v, "name", name)
			}
		}
		return nil
	})
}

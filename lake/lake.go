package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// warehouses
	"github.com/apache/iceberg-go/table"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver
	_ "modernc.org/sqlite"             // "sqlite" database/sql driver

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// Defaults of Config.
const (
	DefaultCatalogName = "ronghe"
	DefaultNamespace   = "rrs"
	// DefaultSnapshotRetention is written to every table as
	// history.expire.max-snapshot-age-ms, the age other engines' expiry
	// procedures use when not told otherwise: a year of "as of" answers.
	DefaultSnapshotRetention = 366 * 24 * time.Hour
)

// sqliteBusyTimeout is how long an SQLite catalog connection waits for a
// concurrent writer before failing.
const sqliteBusyTimeout = 10 * time.Second

// Config says where the lake's catalog and warehouse are.
type Config struct {
	// CatalogURI is the catalog database: "postgres://…" (or
	// "postgresql://…") for PostgreSQL, otherwise an SQLite file given as
	// "sqlite:PATH" or a plain path, created when missing.
	CatalogURI string
	// Warehouse is where table data and metadata go: "file:///abs/dir" or a
	// plain absolute directory, or "s3://bucket/prefix".
	Warehouse string
	// CatalogName is the catalog's name, the catalog_name column of the
	// JDBC catalog tables; Trino's iceberg.jdbc-catalog.catalog-name and
	// Spark's catalog name must equal it. Default "ronghe".
	CatalogName string
	// Namespace holds the tables. Default "rrs".
	Namespace string
	// Props are further catalog and FileIO properties, e.g. "s3.endpoint",
	// "s3.region", "s3.access-key-id", "s3.secret-access-key".
	Props map[string]string
	// Spec is the RRS-1 version tables are derived from; default the
	// newest. Tables of an older version gain the newer optional columns.
	Spec *rrs.Spec
	// SnapshotRetention is written to tables as their default snapshot
	// age limit for expiry (history.expire.max-snapshot-age-ms).
	SnapshotRetention time.Duration
	// Logger receives the lake's log; default slog.Default().
	Logger *slog.Logger
}

// Lake is an open lakehouse: the Iceberg catalog with one table per RRS-1
// record type. It is safe for concurrent use.
type Lake struct {
	cfg     Config
	db      *sql.DB
	dialect sqlcat.SupportedDialect
	cat     *sqlcat.Catalog
	tables  *tableCatalog // loads and commits the lake's tables, caching their metadata
	log     *slog.Logger

	mu    sync.Mutex
	locks map[rrs.Type]*sync.Mutex // one ingest at a time per table, in this process

	markerCache map[rrs.Type]*tableMarkers // per table, the index of its snapshot summaries

	keyLocks [64]sync.Mutex // striped locks of institution+date keys

	batchRows int // rows per Arrow batch written; 0 = default (tests lower it)
}

// lockKeys locks the stripes of keys (in stripe order, so that two groups
// cannot deadlock) and returns the unlock.
func (l *Lake) lockKeys(keys []string) func() {
	var stripes []int
	for _, k := range keys {
		h := fnv.New32a()
		h.Write([]byte(k))
		stripes = append(stripes, int(h.Sum32()%uint32(len(l.keyLocks))))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, s := range stripes {
		l.keyLocks[s].Lock()
	}
	return func() {
		for _, s := range stripes {
			l.keyLocks[s].Unlock()
		}
	}
}

// Open connects to the catalog, creates the JDBC catalog tables, the
// namespace and the record-type tables when missing, and evolves existing
// tables to the configured RRS-1 version (new optional columns only).
func Open(ctx context.Context, cfg Config) (*Lake, error) {
	if cfg.CatalogName == "" {
		cfg.CatalogName = DefaultCatalogName
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Spec == nil {
		cfg.Spec = rrs.Current()
	}
	if cfg.SnapshotRetention <= 0 {
		cfg.SnapshotRetention = DefaultSnapshotRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	wh, err := normalizeWarehouse(cfg.Warehouse)
	if err != nil {
		return nil, err
	}
	cfg.Warehouse = wh
	driver, dsn, dialect, err := catalogDSN(cfg.CatalogURI)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "lake: cannot open the catalog database")
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: cannot reach the catalog database")
	}
	props := iceberg.Properties{
		"warehouse":                   cfg.Warehouse,
		"init_catalog_tables":         "true",
		sqlcat.SchemaVersionKey:       sqlcat.SchemaVersionV1,
		table.CommitNumRetriesKey:     "4",
		table.CommitMinRetryWaitMsKey: "20",
	}
	maps.Copy(props, cfg.Props)
	cat, err := sqlcat.NewCatalog(cfg.CatalogName, db, dialect, props)
	if err != nil {
		db.Close()
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: cannot initialise the Iceberg SQL catalog")
	}
	tc := &tableCatalog{sql: cat, db: db, name: cfg.CatalogName, props: props, postgre: dialect == sqlcat.Postgres, tables: map[string]*table.Table{}}
	l := &Lake{cfg: cfg, db: db, dialect: dialect, cat: cat, tables: tc, log: cfg.Logger, locks: map[rrs.Type]*sync.Mutex{},
		markerCache: map[rrs.Type]*tableMarkers{}}
	if err := l.ensureTables(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Close releases the catalog and its database connections.
func (l *Lake) Close() error {
	return errors.Join(l.cat.Close(), l.db.Close())
}

// Config returns the configuration the lake was opened with, defaults
// filled in.
func (l *Lake) Config() Config { return l.cfg }

// IcebergCatalog returns the underlying iceberg-go catalog, for tools that need
// what the lake does not wrap.
func (l *Lake) IcebergCatalog() catalog.Catalog { return l.cat }

// DB returns the catalog database handle. The lake's own tables beside the
// JDBC catalog tables (the query log) live there.
func (l *Lake) DB() *sql.DB { return l.db }

// Postgres reports whether the catalog database is PostgreSQL.
func (l *Lake) Postgres() bool { return l.dialect == sqlcat.Postgres }

// Types returns the record types that have tables, in spec order.
func (l *Lake) Types() []rrs.Type {
	out := make([]rrs.Type, 0, len(l.cfg.Spec.Types))
	for _, rt := range l.cfg.Spec.Types {
		out = append(out, rt.Type)
	}
	return out
}

// Identifier returns the catalog identifier of record type t's table.
func (l *Lake) Identifier(t rrs.Type) table.Identifier {
	return table.Identifier{l.cfg.Namespace, TableName(t)}
}

// Table loads the current metadata of record type t's table.
func (l *Lake) Table(ctx context.Context, t rrs.Type) (*table.Table, error) {
	if l.cfg.Spec.Record(t) == nil {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "lake: no table for record type %q", t)
	}
	tbl, err := l.tables.LoadTable(ctx, l.Identifier(t))
	if err != nil {
		if errors.Is(err, catalog.ErrNoSuchTable) {
			return nil, ronghe.WrapError(ronghe.ENOTFOUND, err, fmt.Sprintf("lake: table %s not found", TableName(t)))
		}
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, fmt.Sprintf("lake: load table %s", TableName(t)))
	}
	return tbl, nil
}

// tableLock returns the in-process lock serialising writes to t's table.
func (l *Lake) tableLock(t rrs.Type) *sync.Mutex {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.locks[t]
	if m == nil {
		m = new(sync.Mutex)
		l.locks[t] = m
	}
	return m
}

// ensureTables creates the namespace and the tables that are missing and
// adds columns a newer RRS-1 minor version introduced.
func (l *Lake) ensureTables(ctx context.Context) error {
	ns := table.Identifier{l.cfg.Namespace}
	err := l.cat.CreateNamespace(ctx, ns, iceberg.Properties{
		"comment": "RRS-1 batches accepted by the Ronghe platform / 融合平台已接收的 RRS-1 报送数据",
	})
	if err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: create namespace "+l.cfg.Namespace)
	}
	for _, rt := range l.cfg.Spec.Types {
		if err := l.ensureTable(ctx, rt); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lake) ensureTable(ctx context.Context, rt *rrs.RecordType) error {
	ident := l.Identifier(rt.Type)
	tbl, err := l.cat.LoadTable(ctx, ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		sc := Schema(rt)
		spec, err := PartitionSpec(sc)
		if err != nil {
			return fmt.Errorf("lake: partition spec of %s: %w", rt.Type, err)
		}
		props := TableProperties(l.cfg.Spec, rt)
		props[table.MaxSnapshotAgeMsKey] = fmt.Sprint(l.cfg.SnapshotRetention.Milliseconds())
		_, err = l.cat.CreateTable(ctx, ident, sc, catalog.WithPartitionSpec(&spec), catalog.WithProperties(props))
		if err != nil && !errors.Is(err, catalog.ErrTableAlreadyExists) {
			return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: create table "+strings.Join(ident, "."))
		}
		if err == nil {
			l.log.Info("lake: created table", "table", strings.Join(ident, "."), "columns", sc.NumFields())
		}
		return nil
	}
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: load table "+strings.Join(ident, "."))
	}
	return l.evolve(ctx, tbl, rt)
}

// evolve adds to tbl the fields of rt it lacks (a newer minor version adds
// optional fields only), placed before the lineage columns, and records
// their classification.
func (l *Lake) evolve(ctx context.Context, tbl *table.Table, rt *rrs.RecordType) error {
	sc := tbl.Schema()
	var missing []*rrs.Field
	for i := range rt.Fields {
		if _, ok := sc.FindFieldByName(rt.Fields[i].Name); !ok {
			missing = append(missing, &rt.Fields[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	txn := tbl.NewTransaction()
	us := txn.UpdateSchema(true, false)
	props := iceberg.Properties{PropVersion: l.cfg.Spec.Version}
	for _, f := range missing {
		if !f.Nullable {
			return ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: RRS-1 %s adds required field %s.%s; a new major version needs new tables",
				l.cfg.Spec.Version, rt.Type, f.Name)
		}
		us.AddColumn([]string{f.Name}, icebergType(f.Kind), columnDoc(f.Doc, f.DocZH, f.Level, f.PI), false, nil)
		us.MoveBefore([]string{f.Name}, []string{ColBatch})
		props[PropLevelPrefix+f.Name] = fmt.Sprint(f.Level)
		props[PropKindPrefix+f.Name] = f.Kind.String()
		if f.PI != "" {
			props[PropPIPrefix+f.Name] = f.PI
		}
	}
	if err := us.Commit(); err != nil {
		return fmt.Errorf("lake: evolve %s: %w", rt.Type, err)
	}
	if err := txn.SetProperties(props); err != nil {
		return fmt.Errorf("lake: evolve %s: %w", rt.Type, err)
	}
	if _, err := txn.Commit(ctx); err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lake: evolve table "+TableName(rt.Type))
	}
	l.log.Info("lake: added columns", "table", TableName(rt.Type), "columns", len(missing), "rrs_version", l.cfg.Spec.Version)
	return nil
}

// catalogDSN maps a CatalogURI to a database/sql driver, its DSN and the
// catalog dialect.
func catalogDSN(uri string) (driver, dsn string, dialect sqlcat.SupportedDialect, err error) {
	switch {
	case uri == "":
		return "", "", "", ronghe.Errorf(ronghe.EINVALID, "lake: no catalog URI")
	case strings.HasPrefix(uri, "postgres://"), strings.HasPrefix(uri, "postgresql://"):
		if _, err := url.Parse(uri); err != nil {
			return "", "", "", ronghe.WrapError(ronghe.EINVALID, err, "lake: malformed PostgreSQL catalog URI")
		}
		return "pgx", uri, sqlcat.Postgres, nil
	}
	path := strings.TrimPrefix(uri, "sqlite:")
	if rest, ok := strings.CutPrefix(path, "//"); ok {
		path = rest
	}
	path, rawQuery, _ := strings.Cut(path, "?")
	if path == "" || path == ":memory:" || strings.Contains(rawQuery, "mode=memory") {
		return "", "", "", ronghe.Errorf(ronghe.EINVALID, "lake: the SQLite catalog must be a file, got %q", uri)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", "", "", ronghe.WrapError(ronghe.EINTERNAL, err, "lake: create catalog directory")
		}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", "", "", ronghe.WrapError(ronghe.EINVALID, err, "lake: malformed SQLite catalog parameters")
	}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	// A pipeline job that saw its ingest commit is never retried, so the
	// commit must survive a power loss: FULL, not WAL's cheaper NORMAL.
	q.Add("_pragma", "synchronous(FULL)")
	return "sqlite", path + "?" + q.Encode(), sqlcat.SQLite, nil
}

// normalizeWarehouse accepts "file:///dir", "s3://bucket/prefix" or an
// absolute directory and returns the URL form without a trailing slash.
// Local directories are created.
func normalizeWarehouse(w string) (string, error) {
	if w == "" {
		return "", ronghe.Errorf(ronghe.EINVALID, "lake: no warehouse location")
	}
	if !strings.Contains(w, "://") {
		abs, err := filepath.Abs(w)
		if err != nil {
			return "", ronghe.WrapError(ronghe.EINVALID, err, "lake: warehouse path")
		}
		w = "file://" + filepath.ToSlash(abs)
	}
	u, err := url.Parse(w)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EINVALID, err, "lake: malformed warehouse URL")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return "", ronghe.Errorf(ronghe.EINVALID, "lake: warehouse %q: use file:///absolute/path", w)
		}
		if err := os.MkdirAll(u.Path, 0o750); err != nil {
			return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lake: create warehouse directory")
		}
	case "s3", "s3a":
		if u.Host == "" {
			return "", ronghe.Errorf(ronghe.EINVALID, "lake: warehouse %q names no bucket", w)
		}
	default:
		return "", ronghe.Errorf(ronghe.EUNSUPPORTED, "lake: warehouse scheme %q is not supported (file or s3)", u.Scheme)
	}
	return strings.TrimSuffix(w, "/"), nil
}

package lakesql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake"
)

// Schema is the DuckDB schema holding one view per lake table, so queries
// name tables as Trino does: rrs.txn, or txn.
const Schema = "rrs"

// Options configure an Engine.
type Options struct {
	// CacheDir keeps local copies of remote (S3) data files, which are
	// immutable, and scratch space; default <os temp>/ronghe-lake.
	CacheDir string
	// Threads and MemoryLimit bound each DuckDB session ("4GB"); zero
	// values leave DuckDB's defaults.
	Threads     int
	MemoryLimit string
	// MaxRows caps the rows a governed query returns; default 10000.
	MaxRows int
}

// Engine runs SQL over the lake with DuckDB: each session is an in-memory
// DuckDB whose views read the Parquet data files of one lake State.
type Engine struct {
	lake *lake.Lake
	opts Options
	log  *QueryLog
	key  string // hash-mask key, hex
}

// New returns an engine over l. It creates, when missing, the query log and
// the hash-mask key in the catalog database.
func New(ctx context.Context, l *lake.Lake, opts Options) (*Engine, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(os.TempDir(), "ronghe-lake")
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 10000
	}
	if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: cache directory")
	}
	ql, err := OpenQueryLog(ctx, l.DB(), l.Postgres())
	if err != nil {
		return nil, err
	}
	key, err := ql.secret(ctx, "mask-hash-key")
	if err != nil {
		return nil, err
	}
	return &Engine{lake: l, opts: opts, log: ql, key: key}, nil
}

// QueryLog returns the engine's query log.
func (e *Engine) QueryLog() *QueryLog { return e.log }

// Views say how a session's views show the lake.
type Views struct {
	// Role, when set, masks the columns above its clearance; nil shows
	// every column as stored (platform-internal use only).
	Role *Role
	// Tenant, when set, restricts every view to that institution's rows.
	Tenant string
	// Lockdown confines DuckDB to the session's data files and locks its
	// configuration, so SQL run afterwards cannot reach other files.
	Lockdown bool
}

// Session is an in-memory DuckDB over one lake State. Close it after use.
type Session struct {
	// DB is the DuckDB handle (one connection).
	DB *sql.DB
	// State is the lake state the views read.
	State *lake.State
	// Tables are the view names, e.g. "txn".
	Tables []string

	scratch string
}

// Close closes DuckDB and removes the session's scratch files.
func (s *Session) Close() error {
	err := s.DB.Close()
	if s.scratch != "" {
		err = errors.Join(err, os.RemoveAll(s.scratch))
	}
	return err
}

// Open starts a DuckDB session with a view per table of st, shaped by v.
func (e *Engine) Open(ctx context.Context, st *lake.State, v Views) (*Session, error) {
	if v.Tenant != "" {
		if err := checkTenant(v.Tenant); err != nil {
			return nil, err
		}
	}
	scratch, err := os.MkdirTemp(e.opts.CacheDir, "session-")
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: scratch directory")
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		os.RemoveAll(scratch)
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: open DuckDB")
	}
	db.SetMaxOpenConns(1)
	s := &Session{DB: db, State: st, scratch: scratch}
	fail := func(err error) (*Session, error) {
		s.Close()
		return nil, err
	}
	setup := []string{
		"SET temp_directory = " + quote(filepath.Join(scratch, "tmp")),
		"CREATE SCHEMA " + Schema,
		"SET search_path = " + quote(Schema+",main"),
	}
	if e.opts.Threads > 0 {
		setup = append(setup, fmt.Sprintf("SET threads = %d", e.opts.Threads))
	}
	if e.opts.MemoryLimit != "" {
		setup = append(setup, "SET memory_limit = "+quote(e.opts.MemoryLimit))
	}
	for _, q := range setup {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fail(ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: DuckDB setup"))
		}
	}
	var allowed []string
	for _, ts := range st.Tables {
		files, err := e.localFiles(ctx, ts, v.Tenant, scratch)
		if err != nil {
			return fail(err)
		}
		allowed = append(allowed, files...)
		q, err := viewSQL(ts, files, v, quote(e.key))
		if err != nil {
			return fail(err)
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fail(ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: create view "+ts.Name))
		}
		s.Tables = append(s.Tables, ts.Name)
	}
	if v.Lockdown {
		lock := []string{
			"SET allowed_paths = " + sqlList(allowed),
			"SET allowed_directories = " + sqlList([]string{filepath.Join(scratch, "tmp") + "/"}),
			"SET enable_external_access = false",
			"SET autoinstall_known_extensions = false",
			"SET autoload_known_extensions = false",
			"SET lock_configuration = true",
		}
		for _, q := range lock {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fail(ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: DuckDB lockdown"))
			}
		}
	}
	return s, nil
}

// viewSQL builds the CREATE VIEW statement of one table: the data files
// read by Iceberg field ID (so files written under an older schema read
// nulls for newer columns), columns masked for the role, rows filtered to
// the tenant.
func viewSQL(ts *lake.TableState, files []string, v Views, keyLit string) (string, error) {
	fields := ts.Schema.Fields()
	exprs := make([]string, 0, len(fields))
	schemaMap := make([]string, 0, len(fields))
	empty := make([]string, 0, len(fields))
	for i, f := range fields {
		dt, err := duckType(f.Type)
		if err != nil {
			return "", fmt.Errorf("lakesql: %s.%s: %w", ts.Name, f.Name, err)
		}
		ident := quoteIdent(f.Name)
		schemaMap = append(schemaMap, fmt.Sprintf("%d: {name: %s, type: %s, default_value: NULL}", f.ID, quote(f.Name), quote(dt)))
		empty = append(empty, fmt.Sprintf("CAST(NULL AS %s) AS %s", dt, ident))
		m := MaskNone
		if v.Role != nil {
			m = MaskFor(*v.Role, ts.Columns[i])
		}
		expr := maskExpr(m, ident, dt, keyLit)
		if expr != ident {
			expr += " AS " + ident
		}
		exprs = append(exprs, expr)
	}
	var from string
	if len(files) == 0 {
		from = "(SELECT " + strings.Join(empty, ", ") + " WHERE false)"
	} else {
		from = fmt.Sprintf("read_parquet(%s, schema = map {%s})", sqlList(files), strings.Join(schemaMap, ", "))
	}
	q := fmt.Sprintf("CREATE VIEW %s.%s AS SELECT %s FROM %s", Schema, quoteIdent(ts.Name), strings.Join(exprs, ", "), from)
	if v.Tenant != "" {
		q += " WHERE " + quoteIdent(lake.ColInst) + " = " + quote(v.Tenant)
	}
	return q, nil
}

// localFiles returns local paths of the data files of ts (only the
// tenant's partitions when tenant is set): local warehouse files as they
// are, remote ones copied into the cache, and files that delete files apply
// to (only ever written by other engines) replaced by a copy with the
// deletes applied.
func (e *Engine) localFiles(ctx context.Context, ts *lake.TableState, tenant, scratch string) ([]string, error) {
	var filter iceberg.BooleanExpression
	if tenant != "" {
		filter = iceberg.EqualTo(iceberg.Reference(lake.ColInst), tenant)
	}
	files, err := ts.DataFiles(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(files))
	var withDeletes []string
	for _, f := range files {
		if f.Deletes {
			withDeletes = append(withDeletes, f.Path)
			continue
		}
		p, err := e.local(ctx, ts, f.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(withDeletes) > 0 {
		p, err := materialize(ctx, ts, withDeletes, filepath.Join(scratch, ts.Name+"-merged.parquet"))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// local returns a local path holding data file loc.
func (e *Engine) local(ctx context.Context, ts *lake.TableState, loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: data file location")
	}
	if u.Scheme == "" || u.Scheme == "file" {
		return u.Path, nil
	}
	sum := sha256.Sum256([]byte(loc))
	dst := filepath.Join(e.opts.CacheDir, "files", hex.EncodeToString(sum[:])+".parquet")
	if _, err := os.Stat(dst); err == nil {
		return dst, nil // data files are immutable: a cached copy stays valid
	}
	fsys, err := ts.Iceberg().FS(ctx)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: warehouse file system")
	}
	src, err := fsys.Open(loc)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: open "+loc)
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: cache directory")
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".fetch-*")
	if err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: cache file")
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: fetch "+loc)
	}
	if err := tmp.Close(); err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: cache file")
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: cache file")
	}
	return dst, nil
}

// materialize reads the given data files of ts through iceberg-go, which
// applies their delete files, into one local Parquet file.
func materialize(ctx context.Context, ts *lake.TableState, paths []string, dst string) (string, error) {
	want := make(map[string]bool, len(paths))
	for _, p := range paths {
		want[p] = true
	}
	tasks, err := ts.Scan().PlanFiles(ctx)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: plan "+ts.Name)
	}
	var sel []table.FileScanTask
	for _, t := range tasks {
		if want[t.File.FilePath()] {
			sel = append(sel, t)
		}
	}
	sc, it, err := ts.Scan().ReadTasks(ctx, sel)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: read "+ts.Name)
	}
	// Label the columns with their Iceberg field IDs, by which views read.
	fields := make([]arrow.Field, len(sc.Fields()))
	for i, af := range sc.Fields() {
		nf, ok := ts.Schema.FindFieldByName(af.Name)
		if !ok {
			return "", ronghe.Errorf(ronghe.EINTERNAL, "lakesql: %s: scanned column %s not in the schema", ts.Name, af.Name)
		}
		af.Metadata = arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{strconv.Itoa(nf.ID)})
		fields[i] = af
	}
	sc = arrow.NewSchema(fields, nil)
	f, err := os.Create(dst)
	if err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: scratch file")
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: parquet writer")
	}
	for rec, err := range it {
		if err != nil {
			w.Close()
			return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "lakesql: read "+ts.Name)
		}
		relabeled := array.NewRecordBatch(sc, rec.Columns(), rec.NumRows())
		err = w.Write(relabeled)
		relabeled.Release()
		rec.Release()
		if err != nil {
			w.Close()
			return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: write scratch file")
		}
	}
	if err := w.Close(); err != nil {
		return "", ronghe.WrapError(ronghe.EINTERNAL, err, "lakesql: write scratch file")
	}
	return dst, nil
}

// duckType is the DuckDB type of an Iceberg primitive type.
func duckType(t iceberg.Type) (string, error) {
	switch t := t.(type) {
	case iceberg.StringType:
		return "VARCHAR", nil
	case iceberg.DecimalType:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision(), t.Scale()), nil
	case iceberg.DateType:
		return "DATE", nil
	case iceberg.TimeType:
		return "TIME", nil
	case iceberg.Int64Type:
		return "BIGINT", nil
	case iceberg.Int32Type:
		return "INTEGER", nil
	case iceberg.TimestampTzType:
		return "TIMESTAMPTZ", nil
	case iceberg.TimestampType:
		return "TIMESTAMP", nil
	case iceberg.BooleanType:
		return "BOOLEAN", nil
	case iceberg.Float64Type:
		return "DOUBLE", nil
	case iceberg.Float32Type:
		return "FLOAT", nil
	case iceberg.BinaryType:
		return "BLOB", nil
	}
	return "", ronghe.Errorf(ronghe.EUNSUPPORTED, "lakesql: Iceberg type %s is not mapped to DuckDB", t)
}

// checkTenant accepts an institution code (14 ASCII letters and digits).
func checkTenant(s string) error {
	if len(s) != 14 {
		return ronghe.Errorf(ronghe.EINVALID, "tenant must be a 14-character institution code")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return ronghe.Errorf(ronghe.EINVALID, "tenant must be a 14-character institution code")
		}
	}
	return nil
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent returns s as a quoted SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sqlList returns a DuckDB list literal of strings.
func sqlList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

package lake

import (
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"sync"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/klauspost/compress/zstd"
)

// tableCatalog loads and commits the lake's tables through the same JDBC
// catalog rows as iceberg-go's SQL catalog, but keeps the last metadata it
// loaded or committed per table: a table's metadata file lists every
// snapshot (a year of daily ingests is ~10^3 snapshots, megabytes of JSON),
// and parsing it on each load and again inside each commit made an ingest
// cost grow with the table's history. A load reads the row's
// metadata_location (one indexed SELECT) and parses the file only when it
// moved — when another process or engine committed. A commit is
// iceberg-go's SQL catalog commit (validate the requirements on the current
// metadata, apply the updates, write the next metadata file, compare and
// swap metadata_location) on the cached current metadata.
type tableCatalog struct {
	sql     *sqlcat.Catalog
	db      *sql.DB
	name    string // catalog_name
	props   iceberg.Properties
	postgre bool

	mu     sync.Mutex
	tables map[string]*table.Table // by namespace.table: the last loaded or committed
}

var _ table.CatalogIO = (*tableCatalog)(nil)

// key is the cache key and the (namespace, name) of ident; the lake's
// namespaces have one level, stored as is in table_namespace.
func identKey(ident table.Identifier) (ns, name string, err error) {
	if len(ident) != 2 {
		return "", "", fmt.Errorf("%w: %v", catalog.ErrNoSuchTable, ident)
	}
	return ident[0], ident[1], nil
}

// location returns the current metadata location of ident.
func (c *tableCatalog) location(ctx context.Context, ident table.Identifier) (string, error) {
	ns, name, err := identKey(ident)
	if err != nil {
		return "", err
	}
	q := `SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)`
	if c.postgre {
		q = `SELECT metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)`
	}
	var loc *string
	if err := c.db.QueryRowContext(ctx, q, c.name, ns, name).Scan(&loc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("%w: %v", catalog.ErrNoSuchTable, ident)
		}
		return "", fmt.Errorf("lake: read metadata location of %v: %w", ident, err)
	}
	if loc == nil {
		return "", fmt.Errorf("%w: %v, metadata location is missing", catalog.ErrNoSuchTable, ident)
	}
	return *loc, nil
}

func (c *tableCatalog) cached(ident table.Identifier) *table.Table {
	c.mu.Lock()
	defer c.mu.Unlock()
	ns, name, _ := identKey(ident)
	return c.tables[ns+"."+name]
}

func (c *tableCatalog) remember(tbl *table.Table) {
	ns, name, err := identKey(tbl.Identifier())
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := ns + "." + name
	// Keep the newer of two concurrent answers: metadata versions only grow.
	if old := c.tables[k]; old != nil && metadataVersion(old.MetadataLocation()) > metadataVersion(tbl.MetadataLocation()) {
		return
	}
	c.tables[k] = tbl
}

// LoadTable returns the table at its current metadata location, parsing
// the metadata file only when it is not the one last seen.
func (c *tableCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	loc, err := c.location(ctx, ident)
	if err != nil {
		return nil, err
	}
	if t := c.cached(ident); t != nil && t.MetadataLocation() == loc {
		return t, nil
	}
	t, err := table.NewFromLocation(ctx, ident, loc, icebergio.LoadFSFunc(c.props, loc), c)
	if err != nil {
		return nil, err
	}
	c.remember(t)
	return t, nil
}

// CommitTable is iceberg-go's SQL catalog commit on the cached metadata.
func (c *tableCatalog) CommitTable(ctx context.Context, ident table.Identifier, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	ns, name, err := identKey(ident)
	if err != nil {
		return nil, "", err
	}
	current, err := c.LoadTable(ctx, ident)
	if err != nil {
		return nil, "", err
	}
	cur := current.Metadata()
	for _, r := range reqs {
		if err := r.Validate(cur); err != nil {
			return nil, "", err
		}
	}
	updated, err := table.UpdateTableMetadata(cur, updates, current.MetadataLocation())
	if err != nil {
		return nil, "", err
	}
	if updated.Equals(cur) {
		return cur, current.MetadataLocation(), nil
	}
	version := metadataVersion(current.MetadataLocation())
	if version < 0 { // a name the lake does not write: let iceberg-go commit
		return c.sql.CommitTable(ctx, ident, reqs, updates)
	}
	provider, err := table.LoadLocationProvider(updated.Location(), updated.Properties())
	if err != nil {
		return nil, "", err
	}
	newLoc, err := provider.NewTableMetadataFileLocation(version + 1)
	if err != nil {
		return nil, "", err
	}
	ioProps := iceberg.Properties{}
	for k, v := range c.props {
		ioProps[k] = v
	}
	for k, v := range updated.Properties() {
		ioProps[k] = v
	}
	fsF := icebergio.LoadFSFunc(ioProps, newLoc)
	if err := writeMetadata(ctx, fsF, updated, newLoc); err != nil {
		return nil, "", err
	}
	q := `UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ?, iceberg_type = 'TABLE'
WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ? AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)`
	if c.postgre {
		q = `UPDATE iceberg_tables SET metadata_location = $1, previous_metadata_location = $2, iceberg_type = 'TABLE'
WHERE catalog_name = $3 AND table_namespace = $4 AND table_name = $5 AND metadata_location = $6 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)`
	}
	res, err := c.db.ExecContext(ctx, q, newLoc, current.MetadataLocation(), c.name, ns, name, current.MetadataLocation())
	if err != nil {
		return nil, "", fmt.Errorf("error updating table information: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, "", fmt.Errorf("error updating table information: %w", err)
	}
	if n == 0 {
		return nil, "", fmt.Errorf("%w: table %s.%s metadata-location moved underneath us", table.ErrCommitFailed, ns, name)
	}
	c.remember(table.New(ident, updated, newLoc, fsF, c))
	return updated, newLoc, nil
}

// writeMetadata writes meta to loc, compressed as the table's
// write.metadata.compression-codec says.
func writeMetadata(ctx context.Context, fsF func(context.Context) (icebergio.IO, error), meta table.Metadata, loc string) (err error) {
	fs, err := fsF(ctx)
	if err != nil {
		return err
	}
	wfs, ok := fs.(icebergio.WriteFileIO)
	if !ok {
		return errors.New("lake: the warehouse file system does not support writing")
	}
	codec := meta.Properties().Get(table.MetadataCompressionKey, table.MetadataCompressionDefault)
	switch codec {
	case table.MetadataCompressionCodecNone, table.MetadataCompressionCodecGzip, table.MetadataCompressionCodecZstd:
	default:
		return fmt.Errorf("unsupported write metadata compression codec: %s", codec)
	}
	out, err := wfs.Create(loc)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	var w io.Writer = out
	switch codec {
	case table.MetadataCompressionCodecGzip:
		gz := gzip.NewWriter(out)
		defer func() {
			if cerr := gz.Close(); err == nil {
				err = cerr
			}
		}()
		w = gz
	case table.MetadataCompressionCodecZstd:
		enc, zerr := zstd.NewWriter(out)
		if zerr != nil {
			return zerr
		}
		defer func() {
			if cerr := enc.Close(); err == nil {
				err = cerr
			}
		}()
		w = enc
	}
	return json.NewEncoder(w).Encode(meta)
}

var metadataFileName = regexp.MustCompile(`^(\d+)-([\w-]{36})(?:\.\w+)?\.metadata\.json$`)

// metadataVersion is the version number of a metadata file location, -1
// when it has none.
func metadataVersion(loc string) int {
	m := metadataFileName.FindStringSubmatch(path.Base(loc))
	if m == nil {
		return -1
	}
	v, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return v
}

package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ronghe/ronghe"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between SQLite and PostgreSQL outside
// the migration files. The queries themselves are shared.
type dialect struct {
	// name is DialectSQLite or DialectPostgres.
	name string
	// numbered says placeholders are $1, $2… instead of ?.
	numbered bool
	// timestamp is the column type of schema_migrations.applied_at.
	timestamp string
	// migrateLock, when set, is run first in the migration transaction to
	// serialise processes migrating the same schema at once.
	migrateLock string
	// timeText says times are bound as fixed-width text rather than as
	// time.Time values.
	timeText bool
	// isUnique reports a unique or primary-key violation.
	isUnique func(error) bool
	// isTransient reports an error a retry may cure: lock contention, a lost
	// connection, a server shutting down.
	isTransient func(error) bool
	// configurePool sizes the connection pool.
	configurePool func(*sql.DB)
}

// sqliteTimeLayout is how SQLite stores times: UTC, fixed width, microsecond
// precision, so that text order is time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

var sqliteDialect = &dialect{
	name:      DialectSQLite,
	timestamp: "TEXT",
	timeText:  true,
	isUnique: func(err error) bool {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return false
		}
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isTransient: func(err error) bool {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return errors.Is(err, driver.ErrBadConn)
		}
		primary := se.Code() & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	},
	configurePool: func(db *sql.DB) {
		// WAL lets readers run beside the one writer; writers queue on the
		// busy timeout. A modest pool keeps that queue short.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(0)
	},
}

var postgresDialect = &dialect{
	name:      DialectPostgres,
	numbered:  true,
	timestamp: "TIMESTAMPTZ",
	// The lock is per schema so that deployments (and tests) sharing a
	// database in different schemas do not wait for each other.
	migrateLock: `SELECT pg_advisory_xact_lock(hashtext('ronghe.sqlstore.migrate'), hashtext(coalesce(current_schema(), '')))`,
	isUnique: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	},
	isTransient: func(err error) bool {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			switch {
			case strings.HasPrefix(pe.Code, "08"), // connection exception
				pe.Code == "40001",                                         // serialization failure
				pe.Code == "40P01",                                         // deadlock detected
				pe.Code == "53300",                                         // too many connections
				pe.Code == "55P03",                                         // lock not available
				pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutdown, cannot connect now
				return true
			}
			return false
		}
		var ce *pgconn.ConnectError
		var ne net.Error
		return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn)
	},
	configurePool: func(db *sql.DB) {
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(5 * time.Minute)
		db.SetConnMaxLifetime(30 * time.Minute)
	},
}

// rebind rewrites ? placeholders to $1, $2… for PostgreSQL. Question marks in
// quoted literals and identifiers are left alone.
func (d *dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// normTime is the form in which a time is stored: UTC, microseconds.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// normTimePtr is normTime for an optional time.
func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normTime(*t)
	return &n
}

// timeArg binds a time in the dialect's storage form.
func (d *dialect) timeArg(t time.Time) any {
	t = normTime(t)
	if d.timeText {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

// timePtrArg binds an optional time; nil is NULL.
func (d *dialect) timePtrArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.timeArg(*t)
}

// timeCol scans a NOT NULL time column stored by either dialect.
type timeCol struct{ dst *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	t, ok, err := parseTimeValue(src)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("sqlstore: NULL in a NOT NULL time column")
	}
	*c.dst = t
	return nil
}

// nullTimeCol scans a nullable time column into a *time.Time.
type nullTimeCol struct{ dst **time.Time }

// Scan implements sql.Scanner.
func (c nullTimeCol) Scan(src any) error {
	t, ok, err := parseTimeValue(src)
	if err != nil {
		return err
	}
	if !ok {
		*c.dst = nil
		return nil
	}
	*c.dst = &t
	return nil
}

// parseTimeValue converts a driver value of a time column to a UTC time.
func parseTimeValue(src any) (time.Time, bool, error) {
	var s string
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return v.UTC(), true, nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return time.Time{}, false, fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	t, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		if t, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
			return t.UTC(), true, nil
		}
		return time.Time{}, false, fmt.Errorf("sqlstore: malformed stored time %q: %w", s, err)
	}
	return t.UTC(), true, nil
}

// nullUint64Col scans a nullable BIGINT column holding a log index.
type nullUint64Col struct{ dst **uint64 }

// Scan implements sql.Scanner.
func (c nullUint64Col) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	if !n.Valid {
		*c.dst = nil
		return nil
	}
	if n.Int64 < 0 {
		return fmt.Errorf("sqlstore: negative log index %d stored", n.Int64)
	}
	u := uint64(n.Int64)
	*c.dst = &u
	return nil
}

// logIndexArg binds a log index; the columns are signed 64-bit, which holds
// any index a real log reaches.
func logIndexArg(u uint64) (int64, error) {
	if u > math.MaxInt64 {
		return 0, ronghe.Errorf(ronghe.EINVALID, "log index %d is out of range", u)
	}
	return int64(u), nil
}

// logIndexPtrArg binds an optional log index; nil is NULL.
func logIndexPtrArg(u *uint64) (any, error) {
	if u == nil {
		return nil, nil
	}
	return logIndexArg(*u)
}

// bytesArg binds a byte slice, storing an empty one as NULL so that both
// dialects read it back as nil.
func bytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nilIfEmpty normalises a scanned byte slice: empty reads as nil.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

package sqlstore

import (
	"context"
	"database/sql/driver"
	"log/slog"
	"sync"
	"time"

	"github.com/ronghe/ronghe"
)

// leaderReleaseTimeout bounds how long releasing a PostgreSQL lease may take
// before its connection is dropped instead, which frees the lock too.
const leaderReleaseTimeout = 5 * time.Second

// TryLeader tries, without waiting, to become the leader for name — the one
// process of a scaled-out deployment that runs a singleton task such as a
// scheduler. It returns ok=false when someone else leads. When ok is true the
// caller leads until it calls release (safe to call more than once).
//
// On PostgreSQL leadership is a session-level advisory lock, keyed by the
// current schema and name, held on a connection taken out of the pool for
// the purpose. If the process dies or the connection breaks the server frees
// the lock and another process can take it, so a leader should re-check
// leadership before acting on it for long.
//
// On SQLite the store is single-process by design — one server owns the
// database file — so leadership is decided inside this DB handle: the first
// caller for a name leads until it releases, and other callers on the same
// handle get ok=false. Two processes opening one SQLite file are not a
// supported deployment and are not arbitrated.
func (db *DB) TryLeader(ctx context.Context, name string) (release func(), ok bool, err error) {
	if name == "" {
		return nil, false, ronghe.Errorf(ronghe.EINVALID, "leader name is required")
	}
	if db.d.name != DialectPostgres {
		return db.tryLocalLeader(name)
	}
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, false, db.dbErr("take leadership", err)
	}
	const key = `hashtext(coalesce(current_schema(), '')), hashtext(?)`
	if err := c.QueryRowContext(ctx, db.d.rebind(`SELECT pg_try_advisory_lock(`+key+`)`), name).Scan(&ok); err != nil {
		// The lock may or may not have been taken; drop the connection so
		// that no lock can outlive this call.
		discard(c)
		return nil, false, db.dbErr("take leadership", err)
	}
	if !ok {
		_ = c.Close()
		return nil, false, nil
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaderReleaseTimeout)
			defer cancel()
			var unlocked bool
			err := c.QueryRowContext(ctx, db.d.rebind(`SELECT pg_advisory_unlock(`+key+`)`), name).Scan(&unlocked)
			if err != nil || !unlocked {
				slog.WarnContext(ctx, "sqlstore: releasing leadership failed; dropping its connection", "name", name, "err", err)
				discard(c)
				return
			}
			_ = c.Close()
		})
	}
	return release, true, nil
}

// discard closes a dedicated connection instead of returning it to the pool.
func discard(c interface {
	Raw(func(any) error) error
	Close() error
}) {
	// Returning driver.ErrBadConn from Raw makes database/sql close the
	// underlying connection rather than pool it.
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

// tryLocalLeader is TryLeader for SQLite: leadership within this handle.
func (db *DB) tryLocalLeader(name string) (func(), bool, error) {
	db.leaderMu.Lock()
	defer db.leaderMu.Unlock()
	if db.leaders[name] {
		return nil, false, nil
	}
	db.leaders[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			db.leaderMu.Lock()
			delete(db.leaders, name)
			db.leaderMu.Unlock()
		})
	}, true, nil
}

// Lock waits until it holds the cross-process lock name, or ctx ends, and
// returns its release (safe to call more than once). On PostgreSQL it is a
// session advisory lock on a dedicated connection, so a process that dies
// releases it; the exchange takes one per message while it finalises, so
// that two replicas never log the same acceptance twice. On SQLite, a
// single-process store, it returns at once: the caller's in-process locking
// is the whole story.
func (db *DB) Lock(ctx context.Context, name string) (release func(), err error) {
	if name == "" {
		return nil, ronghe.Errorf(ronghe.EINVALID, "lock name is required")
	}
	if db.d.name != DialectPostgres {
		return func() {}, nil
	}
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, db.dbErr("take lock", err)
	}
	const key = `hashtext(coalesce(current_schema(), '')), hashtext(?)`
	if _, err := c.ExecContext(ctx, db.d.rebind(`SELECT pg_advisory_lock(`+key+`)`), name); err != nil {
		discard(c)
		return nil, db.dbErr("take lock", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaderReleaseTimeout)
			defer cancel()
			var unlocked bool
			if err := c.QueryRowContext(ctx, db.d.rebind(`SELECT pg_advisory_unlock(`+key+`)`), name).Scan(&unlocked); err != nil || !unlocked {
				discard(c)
				return
			}
			_ = c.Close()
		})
	}, nil
}

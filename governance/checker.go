package governance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/rules"
)

// checker runs the rule engine over batches one at a time, against the
// history kept in one DuckDB file. The engine is not safe for concurrent
// use and the history must see every batch in the order the platform
// processes them, so checks are serialised: within the process by a mutex,
// across the processes of a scaled-out deployment by Config.Lock (a
// PostgreSQL advisory lock), which also lets only one process open the
// DuckDB file at a time. The engine stays open between checks when
// Config.KeepEngineOpen says this is the only process (SQLite).
type checker struct {
	historyPath string
	lock        func(ctx context.Context) (func(), error)
	keepOpen    bool
	log         *slog.Logger

	sem      chan struct{} // one check at a time in this process
	eng      *rules.Engine
	progress func(rules.Progress) // of the check under way
}

// session is the right to check batches and apply their results, held
// from acquire to release.
type session struct {
	c       *checker
	release func()
}

// acquire waits for the right to check: first this process's turn, then
// the cluster-wide lock.
func (c *checker) acquire(ctx context.Context) (*session, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() {}
	if c.lock != nil {
		r, err := c.lock(ctx)
		if err != nil {
			<-c.sem
			return nil, err
		}
		release = r
	}
	return &session{c: c, release: release}, nil
}

// Release ends the session; unless the engine is kept open it is closed,
// so another process may open the history.
func (s *session) Release() {
	c := s.c
	if !c.keepOpen && c.eng != nil {
		if err := c.eng.Close(); err != nil {
			c.log.Warn("governance: closing the rule engine", "err", err)
		}
		c.eng = nil
	}
	s.release()
	<-c.sem
}

// Check runs the rule engine on b and records it in the history.
func (s *session) Check(ctx context.Context, b *rrs.Batch, progress func(rules.Progress)) ([]rules.Finding, error) {
	c := s.c
	if c.eng == nil {
		eng, err := rules.New(ctx, rules.Options{HistoryPath: c.historyPath, Logger: c.log, Progress: func(p rules.Progress) {
			if c.progress != nil {
				c.progress(p)
			}
		}})
		if err != nil {
			return nil, err
		}
		c.eng = eng
	}
	c.progress = progress
	defer func() { c.progress = nil }()
	fs, err := c.eng.CheckBatch(ctx, b)
	if err != nil {
		// The engine may be half way through a run: start afresh next time.
		_ = c.eng.Close()
		c.eng = nil
		return nil, err
	}
	return fs, nil
}

// Close releases a kept engine.
func (c *checker) Close() error {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	if c.eng == nil {
		return nil
	}
	err := c.eng.Close()
	c.eng = nil
	return err
}

// Blobs opens stored, encrypted blobs as plaintext streams
// (*blobstore.Store).
type Blobs interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// materialize decrypts the files of an accepted batch into a new private
// directory under work (0700, files 0600) named after the batch, as the
// rule engine reads batch directories. The caller removes it with
// os.RemoveAll(filepath.Dir(path)) once checked.
func materialize(ctx context.Context, blobs Blobs, work string, sub *ronghe.Submission, batch string, progress func(done, total int)) (string, error) {
	if err := os.MkdirAll(work, 0o700); err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "governance: create work directory")
	}
	tmp, err := os.MkdirTemp(work, "check-")
	if err != nil {
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "governance: create work directory")
	}
	dir := filepath.Join(tmp, batch)
	if err := os.Mkdir(dir, 0o700); err != nil {
		os.RemoveAll(tmp)
		return "", ronghe.WrapError(ronghe.EUNAVAILABLE, err, "governance: create work directory")
	}
	for i, f := range sub.Files {
		if err := decryptTo(ctx, blobs, f.BlobKey, filepath.Join(dir, filepath.Base(f.Name))); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("governance: decrypt %s of %s: %w", f.Name, batch, err)
		}
		progress(i+1, len(sub.Files))
	}
	return dir, nil
}

func decryptTo(ctx context.Context, blobs Blobs, key, path string) error {
	rc, err := blobs.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "governance: write work file")
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "governance: write work file")
	}
	return nil
}

// PollLock turns a try-lock such as sqlstore.DB.TryLeader into the waiting
// lock Config.Lock wants: it tries every interval until it holds the lock
// named name or ctx ends.
func PollLock(try func(ctx context.Context, name string) (func(), bool, error), name string, every time.Duration) func(context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		for {
			release, ok, err := try(ctx, name)
			if err != nil {
				return nil, err
			}
			if ok {
				return release, nil
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(every):
			}
		}
	}
}

package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/envelope"
)

// Result describes a complete upload.
type Result struct {
	// ID is the upload's ID.
	ID string
	// Tenant is the code of the institution that uploaded it.
	Tenant string
	// Suite is the suite its data key and digest belong to.
	Suite ronghe.Suite
	// Size is the plaintext length in bytes.
	Size int64
	// Digest is the suite digest (SM3 or SHA-256) of the plaintext,
	// computed as the data arrived.
	Digest []byte
	// MetaData is the upload's metadata after the pre-create hook
	// (MetaMessage, MetaFile, …).
	MetaData map[string]string
	// Created is when the upload was created.
	Created time.Time
}

// Completed returns the result of upload id of the context's tenant. An
// upload that is not complete is a ronghe.ECONFLICT error; a missing upload,
// or another tenant's, is ronghe.ENOTFOUND.
func (s *Store) Completed(ctx context.Context, id string) (Result, error) {
	st, err := s.visible(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if !st.Complete {
		return Result{}, ronghe.Errorf(ronghe.ECONFLICT, "upload %s is not complete (%d of %d bytes)", id, st.Info.Offset, st.Info.Size)
	}
	return Result{
		ID:       id,
		Tenant:   st.Tenant,
		Suite:    st.Suite,
		Size:     st.Info.Size,
		Digest:   append([]byte(nil), st.Digest...),
		MetaData: cloneMap(st.Info.MetaData),
		Created:  st.Created,
	}, nil
}

// visible is visibleState with ronghe errors, for the exported methods.
func (s *Store) visible(ctx context.Context, id string) (*state, error) {
	st, err := s.visibleState(ctx, id)
	if errors.Is(err, handler.ErrNotFound) {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "no upload %q", id)
	}
	return st, err
}

// Reader returns the decrypted content of complete upload id of the
// context's tenant. Every chunk is authenticated before it is returned; the
// caller must close the reader.
func (s *Store) Reader(ctx context.Context, id string) (io.ReadCloser, error) {
	st, err := s.visible(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.reader(ctx, st)
}

func (s *Store) reader(ctx context.Context, st *state) (io.ReadCloser, error) {
	if !st.Complete {
		return nil, ErrIncomplete
	}
	f, err := os.Open(s.binPath(st.Info.ID))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ronghe.Errorf(ronghe.ENOTFOUND, "upload %s has no data", st.Info.ID)
		}
		return nil, fmt.Errorf("upload: open data file: %w", err)
	}
	r, err := envelope.NewReader(ctx, f, s.kek)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &readCloser{Reader: r, Closer: f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Promote moves complete upload id of the context's tenant into dst under
// key, without re-encrypting: the upload's .bin is already the envelope
// dst.Get reads (dst must use the store's KEK). When dst is a file:// store
// on the staging directory's file system this is a rename; otherwise the
// ciphertext is streamed. The upload's files are then removed, so the tus
// resource no longer exists. Promote takes the upload's lock (waiting at
// most until ctx is done) and is idempotent: repeating it after a crash that
// interrupted it finishes the job.
func (s *Store) Promote(ctx context.Context, id string, dst *blobstore.Store, key string) error {
	if _, err := s.visible(ctx, id); err != nil {
		return err
	}
	if err := blobstore.ValidateKey(key); err != nil {
		return err
	}
	release, err := s.acquire(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	st, err := s.visible(ctx, id) // again, under the lock
	if err != nil {
		return err
	}
	if !st.Complete {
		return ronghe.Errorf(ronghe.ECONFLICT, "upload %s is not complete (%d of %d bytes)", id, st.Info.Offset, st.Info.Size)
	}
	bin := s.binPath(id)
	fi, err := os.Stat(bin)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A previous Promote moved the data and stopped before removing
		// the state. Finish it if the blob is where it was meant to go.
		ok, xerr := dst.Exists(ctx, key)
		if xerr != nil {
			return xerr
		}
		if !ok {
			return ronghe.Errorf(ronghe.EINTERNAL, "complete upload %s has lost its data", id)
		}
		s.log.WarnContext(ctx, "upload: finishing an interrupted promotion", "id", id, "key", key)
	case err != nil:
		return fmt.Errorf("upload: stat data file: %w", err)
	case fi.Size() != sealedLen(st):
		return ronghe.Errorf(ronghe.EINTEGRITY, "data file of upload %s is %d bytes, want %d", id, fi.Size(), sealedLen(st))
	default:
		if err := dst.MoveFromFile(ctx, key, bin); err != nil {
			return err
		}
	}
	if err := s.remove(id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "upload: promoted", "id", id, "tenant", st.Tenant, "key", key, "size", st.Info.Size)
	return nil
}

// Terminate removes upload id of the context's tenant, complete or not,
// taking its lock first (an upload being written is asked to stop).
func (s *Store) Terminate(ctx context.Context, id string) error {
	if _, err := s.visible(ctx, id); err != nil {
		return err
	}
	release, err := s.acquire(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	return s.remove(id)
}

// acquire takes the Locker's lock on id and then the in-process mutex, the
// same order tusd's requests follow, and returns the release function.
func (s *Store) acquire(ctx context.Context, id string) (func(), error) {
	l, err := s.locker.NewLock(id)
	if err != nil {
		return nil, fmt.Errorf("upload: new lock: %w", err)
	}
	if err := l.Lock(ctx, func() {}); err != nil {
		if errors.Is(err, handler.ErrLockTimeout) || ctx.Err() != nil {
			return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "upload %s is busy", id)
		}
		return nil, fmt.Errorf("upload: lock: %w", err)
	}
	unlock := s.mu.lock(id)
	return func() {
		unlock()
		if err := l.Unlock(); err != nil {
			s.log.Error("upload: unlock", "id", id, "err", err)
		}
	}, nil
}

// Sweep removes what the staging directory should not keep: uploads, of any
// tenant, that are not complete and have not changed since before cutoff;
// data files without a state file (left by a crash during creation or
// removal); and temporary state files older than cutoff. It is a platform
// maintenance job, run periodically with cutoff = now - the upload expiry.
// Complete uploads are left for the exchange to promote or terminate.
// It returns how many uploads and orphans it removed.
func (s *Store) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("upload: list staging directory: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		name := e.Name()
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		switch {
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp"):
			if fi.ModTime().Before(cutoff) {
				if err := os.Remove(filepath.Join(s.dir, name)); err == nil {
					removed++
				}
			}
		case strings.HasSuffix(name, ".bin") && validID(strings.TrimSuffix(name, ".bin")):
			id := strings.TrimSuffix(name, ".bin")
			if _, err := os.Stat(s.infoPath(id)); errors.Is(err, fs.ErrNotExist) && fi.ModTime().Before(cutoff) {
				if s.sweepOne(ctx, id, func(*state) bool { return true }) {
					removed++
				}
			}
		case strings.HasSuffix(name, ".info") && validID(strings.TrimSuffix(name, ".info")):
			id := strings.TrimSuffix(name, ".info")
			if s.sweepOne(ctx, id, func(st *state) bool { return st != nil && !st.Complete && st.Updated.Before(cutoff) }) {
				removed++
			}
		}
	}
	if removed > 0 {
		s.log.InfoContext(ctx, "upload: swept staging directory", "removed", removed)
	}
	return removed, nil
}

// sweepOne removes upload id if expired says so of its state (nil for an
// orphan data file), under its lock; a busy upload is skipped.
func (s *Store) sweepOne(ctx context.Context, id string, expired func(*state) bool) bool {
	// Look first without the lock: asking for it interrupts whoever holds
	// it, which must not happen to a live upload.
	st, err := s.readState(id)
	if errors.Is(err, handler.ErrNotFound) {
		st = nil
	} else if err != nil || !expired(st) {
		return false
	}
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	release, err := s.acquire(lctx, id)
	if err != nil {
		return false
	}
	defer release()
	st, err = s.readState(id)
	switch {
	case errors.Is(err, handler.ErrNotFound):
		st = nil
	case err != nil:
		s.log.WarnContext(ctx, "upload: sweep cannot read state", "id", id, "err", err)
		return false
	}
	if !expired(st) {
		return false
	}
	if err := s.remove(id); err != nil {
		s.log.WarnContext(ctx, "upload: sweep cannot remove", "id", id, "err", err)
		return false
	}
	return true
}

// Package upload is Ronghe's resumable upload store: a tusd v2
// handler.DataStore that encrypts and hashes batch files as they arrive, so
// that plaintext never touches the disk and a finished upload is already a
// valid envelope (envelope/FORMAT.md) that can be promoted into the blob
// store by a rename.
//
// Each upload is two files in the staging directory: <id>.info (JSON: tusd's
// FileInfo and the upload's tenant, suite, envelope header with the wrapped
// data key, marshalled hash state and count of sealed chunks) and <id>.bin
// (the envelope: header, then sealed chunks). Data is accepted in whole
// envelope chunks: the tail of a PATCH that does not fill a chunk is dropped
// and the client resumes from the offset the server reports, unless that tail
// completes the upload. README.md in this directory explains the write order
// and fsync strategy that make the store crash-safe.
//
// Every operation is scoped to the tenant of its context (WithTenant): an
// upload of another tenant is indistinguishable from a missing one.
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

// Defaults of Config.
const (
	// DefaultCheckpointBytes is how much plaintext a long PATCH seals between
	// two durable commits of its progress.
	DefaultCheckpointBytes = 256 << 20
	// StagingSubdir is where StagingDir places uploads inside a file://
	// blob store. Blob keys cannot start with a dot, so it never collides
	// with a blob.
	StagingSubdir = ".staging/uploads"
	// maxDefaultWorkers caps the default number of sealing goroutines.
	maxDefaultWorkers = 4
	// storageType is FileInfo.Storage["Type"] of this store's uploads.
	storageType = "ronghe-upload"
	// Storage keys, besides MetaTenant and MetaSuite, that the store sets.
	storageKeyPath     = "Path"
	storageKeyInfoPath = "InfoPath"
)

// Config configures a Store.
type Config struct {
	// Dir is the staging directory, created (0700) if missing. Put it on
	// the file system of the blob store's directory (StagingDir does) so
	// that Promote is a rename.
	Dir string
	// KEK wraps each upload's data key; the blob store must use the same
	// KEK to read promoted uploads.
	KEK envelope.KEK
	// ChunkSize is the envelope chunk size and the granularity at which
	// data is accepted; 0 means envelope.DefaultChunkSize.
	ChunkSize int
	// MaxSize, if positive, caps the declared size of any upload. The
	// exchange's pre-create hook enforces the manifest's exact size.
	MaxSize int64
	// Workers is how many goroutines seal chunks while another hashes
	// them; 0 means GOMAXPROCS-1 (at least 1, at most 4), which leaves the
	// hasher, the one sequential stage, a core of its own.
	Workers int
	// CheckpointBytes is how much plaintext a single long PATCH seals
	// between durable commits of its progress (fsync and a new .info); 0
	// means DefaultCheckpointBytes. It bounds the work of crash recovery,
	// which re-reads what lies beyond the last commit.
	CheckpointBytes int64
	// Locker serialises access to one upload. It is given to tusd by UseIn
	// and taken by the store's own Promote and Terminate; nil means an
	// in-process memorylocker, which is right for one process. Several
	// processes sharing the staging directory need a shared Locker (for
	// example tusd's filelocker on that directory, or a distributed lock).
	Locker handler.Locker
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Store is the encrypted resumable upload store. It implements tusd's
// handler.DataStore and handler.TerminaterDataStore and is safe for
// concurrent use.
type Store struct {
	dir        string
	kek        envelope.KEK
	chunkSize  int
	maxSize    int64
	workers    int
	checkpoint int64
	locker     handler.Locker
	log        *slog.Logger
	mu         keyedMutex // in-process exclusion for file changes of one upload
}

var (
	_ handler.DataStore           = (*Store)(nil)
	_ handler.TerminaterDataStore = (*Store)(nil)
)

// StagingDir returns the staging directory for uploads that will be promoted
// into bs: StagingSubdir inside its directory for a file:// store, so that
// promotion is a rename, or "" for any other backend (the caller then picks a
// local directory, and promotion streams the ciphertext).
func StagingDir(bs *blobstore.Store) string {
	if bs.Dir() == "" {
		return ""
	}
	return filepath.Join(bs.Dir(), filepath.FromSlash(StagingSubdir))
}

// New opens the upload store described by cfg.
func New(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, ronghe.Errorf(ronghe.EINVALID, "upload store needs a staging directory")
	}
	if cfg.KEK == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "upload store needs a key-encryption key")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "staging directory %q: %w", cfg.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot create the staging directory")
	}
	s := &Store{
		dir:        dir,
		kek:        cfg.KEK,
		chunkSize:  cfg.ChunkSize,
		maxSize:    cfg.MaxSize,
		workers:    cfg.Workers,
		checkpoint: cfg.CheckpointBytes,
		locker:     cfg.Locker,
		log:        cfg.Logger,
	}
	if s.chunkSize == 0 {
		s.chunkSize = envelope.DefaultChunkSize
	}
	if n := s.chunkSize; n < envelope.MinChunkSize || n > envelope.MaxChunkSize || n&(n-1) != 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "chunk size %d is not a power of two from %d to %d", n, envelope.MinChunkSize, envelope.MaxChunkSize)
	}
	if s.workers <= 0 {
		s.workers = min(max(1, runtime.GOMAXPROCS(0)-1), maxDefaultWorkers)
	}
	if s.checkpoint <= 0 {
		s.checkpoint = DefaultCheckpointBytes
	}
	if s.locker == nil {
		s.locker = memorylocker.New()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// UseIn registers the store with a tusd composer: as the core data store, as
// the terminater (DELETE) and with its Locker. Concatenation and deferred
// length are deliberately not offered.
func (s *Store) UseIn(c *handler.StoreComposer) {
	c.UseCore(s)
	c.UseTerminater(s)
	c.UseLocker(s.locker)
}

// Dir returns the absolute staging directory.
func (s *Store) Dir() string { return s.dir }

// ChunkSize returns the envelope chunk size: every PATCH but the one that
// completes an upload should carry a multiple of it, since a partial chunk
// at its end is dropped.
func (s *Store) ChunkSize() int { return s.chunkSize }

// NewUpload creates an upload for tusd. The size must be declared; the
// tenant comes from the context and must match MetaTenant if the hook set
// it; the suite comes from MetaSuite. A hook-supplied ID is accepted if it
// has the form of a generated one (32 lowercase hex digits) and is unused.
func (s *Store) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	u, err := s.newUpload(ctx, info)
	if err != nil {
		return nil, s.tusError(ctx, "create", info.ID, err)
	}
	return u, nil
}

func (s *Store) newUpload(ctx context.Context, info handler.FileInfo) (*upload, error) {
	if info.SizeIsDeferred {
		return nil, ErrDeferredLength
	}
	if info.IsPartial || info.IsFinal || len(info.PartialUploads) > 0 {
		return nil, ErrConcatenation
	}
	if info.Size < 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "upload length %d is negative", info.Size)
	}
	if s.maxSize > 0 && info.Size > s.maxSize {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "upload length %d exceeds the limit of %d bytes", info.Size, s.maxSize)
	}
	if chunks := (info.Size + int64(s.chunkSize) - 1) / int64(s.chunkSize); chunks > 1<<32 {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "upload length %d exceeds what one envelope can hold", info.Size)
	}
	tenant, ok := TenantFrom(ctx)
	if !ok {
		return nil, ronghe.Errorf(ronghe.EUNAUTHORIZED, "no authenticated tenant")
	}
	if !tenantPattern.MatchString(tenant) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "tenant code %q is malformed", tenant)
	}
	for _, m := range []map[string]string{info.Storage, info.MetaData} {
		if t, ok := m[MetaTenant]; ok && t != tenant {
			return nil, ronghe.Errorf(ronghe.EFORBIDDEN, "the upload is declared for another tenant")
		}
	}
	st := ronghe.Suite(lookup(MetaSuite, info.Storage, info.MetaData))
	if err := suite.Check(st); err != nil {
		return nil, err
	}
	id := info.ID
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return nil, err
		}
	} else if !validID(id) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "upload ID %q is not 32 lowercase hex digits", id)
	}

	c, err := envelope.NewChunkCipher(ctx, s.kek, st, envelope.WithChunkSize(s.chunkSize))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	h := suite.NewHash(st)
	hs, err := marshalHash(h)
	if err != nil {
		return nil, err
	}
	info.ID = id
	info.Offset = 0
	info.MetaData = cloneMap(info.MetaData)
	info.Storage = map[string]string{
		"Type":             storageType,
		MetaTenant:         tenant,
		MetaSuite:          string(st),
		storageKeyPath:     s.binPath(id),
		storageKeyInfoPath: s.infoPath(id),
	}
	now := time.Now().UTC()
	state := &state{
		Info: info, Tenant: tenant, Suite: st, Header: append([]byte(nil), c.Header()...),
		ChunkSize: s.chunkSize, HashState: hs, Created: now,
	}

	unlock := s.mu.lock(id)
	defer unlock()
	// The .info file is the commit point of creation: once it exists the
	// upload exists, and recovery can rebuild a missing .bin from the
	// header it holds. Created exclusively, so a reused ID fails here.
	if err := s.writeState(state, true); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, ronghe.Errorf(ronghe.ECONFLICT, "upload ID %s is already in use", id)
		}
		return nil, err
	}
	if err := s.createBin(state); err != nil {
		return nil, err
	}
	if info.Size == 0 {
		// An empty upload is complete at once: its envelope is the header
		// and one empty last chunk.
		if _, err := s.writeChunk(ctx, state, 0, strings.NewReader("")); err != nil {
			return nil, err
		}
	}
	s.log.InfoContext(ctx, "upload: created", "id", id, "tenant", tenant, "suite", st, "size", info.Size)
	return &upload{store: s, st: state}, nil
}

// createBin (re)creates an upload's .bin file holding just the envelope
// header, durably.
func (s *Store) createBin(st *state) error {
	f, err := os.OpenFile(s.binPath(st.Info.ID), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("upload: create data file: %w", err)
	}
	if _, err := f.Write(st.Header); err != nil {
		f.Close()
		return fmt.Errorf("upload: write header: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("upload: sync data file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("upload: close data file: %w", err)
	}
	return syncDir(s.dir)
}

// GetUpload returns the upload with the given ID if it belongs to the
// context's tenant, and handler.ErrNotFound otherwise. It first brings the
// files into a consistent state after a crash (see README.md).
func (s *Store) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	u, err := s.getUpload(ctx, id)
	if err != nil {
		return nil, s.tusError(ctx, "get", id, err)
	}
	return u, nil
}

func (s *Store) getUpload(ctx context.Context, id string) (*upload, error) {
	if _, err := s.visibleState(ctx, id); err != nil {
		return nil, err
	}
	unlock := s.mu.lock(id)
	defer unlock()
	st, err := s.readState(id) // again, under the lock
	if err != nil {
		return nil, err
	}
	if err := s.recover(ctx, st); err != nil {
		return nil, err
	}
	return &upload{store: s, st: st}, nil
}

// visibleState reads the state of upload id if the context's tenant may see
// it. A malformed ID, a missing upload, a missing tenant in the context and
// another tenant's upload are all handler.ErrNotFound.
func (s *Store) visibleState(ctx context.Context, id string) (*state, error) {
	tenant, ok := TenantFrom(ctx)
	if !ok || !validID(id) {
		return nil, handler.ErrNotFound
	}
	st, err := s.readState(id)
	if err != nil {
		return nil, err
	}
	if st.Tenant != tenant {
		return nil, handler.ErrNotFound
	}
	return st, nil
}

// AsTerminatableUpload implements handler.TerminaterDataStore.
func (s *Store) AsTerminatableUpload(u handler.Upload) handler.TerminatableUpload {
	return u.(*upload)
}

// upload is one request's handle on an upload; tusd makes a new one for
// every request through GetUpload, under the upload's lock.
type upload struct {
	store *Store
	st    *state
}

// GetInfo returns tusd's view of the upload; Offset is the durable offset.
func (u *upload) GetInfo(ctx context.Context) (handler.FileInfo, error) {
	info := u.st.Info
	info.MetaData = cloneMap(info.MetaData)
	info.Storage = cloneMap(info.Storage)
	return info, nil
}

// WriteChunk encrypts and hashes src from offset; see writeChunk.
func (u *upload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	s := u.store
	unlock := s.mu.lock(u.st.Info.ID)
	defer unlock()
	n, err := s.writeChunk(ctx, u.st, offset, src)
	return n, s.tusError(ctx, "write", u.st.Info.ID, err)
}

// GetReader returns the decrypted content of a complete upload.
func (u *upload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	rc, err := u.store.reader(ctx, u.st)
	return rc, u.store.tusError(ctx, "read", u.st.Info.ID, err)
}

// FinishUpload is called by tusd once Offset reaches Size, which for this
// store means the last chunk is sealed and durable.
func (u *upload) FinishUpload(ctx context.Context) error {
	if !u.st.Complete {
		return u.store.tusError(ctx, "finish", u.st.Info.ID,
			ronghe.Errorf(ronghe.EINTERNAL, "upload %s reached its size without a sealed last chunk", u.st.Info.ID))
	}
	u.store.log.InfoContext(ctx, "upload: complete", "id", u.st.Info.ID, "tenant", u.st.Tenant, "size", u.st.Info.Size)
	return nil
}

// Terminate removes the upload (tus DELETE); tusd holds its lock.
func (u *upload) Terminate(ctx context.Context) error {
	s := u.store
	unlock := s.mu.lock(u.st.Info.ID)
	defer unlock()
	return s.tusError(ctx, "terminate", u.st.Info.ID, s.remove(u.st.Info.ID))
}

// remove deletes an upload's files: the .info first, because it is what
// makes an upload exist (a .bin without one is an orphan that Sweep removes,
// while a .info without a .bin would be rebuilt by recovery).
func (s *Store) remove(id string) error {
	if err := os.Remove(s.infoPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upload: remove state: %w", err)
	}
	if err := os.Remove(s.binPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upload: remove data: %w", err)
	}
	return syncDir(s.dir)
}

// lookup returns the first value of key in the maps.
func lookup(key string, maps ...map[string]string) string {
	for _, m := range maps {
		if v, ok := m[key]; ok {
			return v
		}
	}
	return ""
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// keyedMutex is a set of mutexes by upload ID, created on demand and freed
// when unused.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

// lock locks the mutex of id and returns its unlock function.
func (k *keyedMutex) lock(id string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*refMutex)
	}
	e := k.m[id]
	if e == nil {
		e = &refMutex{}
		k.m[id] = e
	}
	e.refs++
	k.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, id)
		}
		k.mu.Unlock()
	}
}

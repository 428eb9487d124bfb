// Package blobstore stores Ronghe's blobs — submitted batch files, evidence
// and derived artefacts — in a bucket, encrypted at rest.
//
// A Store is a thin, documented layer over gocloud.dev/blob. It adds three
// things the platform needs everywhere:
//
//   - encryption: Put seals each blob under its own data key with the
//     envelope format (envelope/FORMAT.md), the data key wrapped by the
//     store's key-encryption key (KEK); Get opens it again. PutRaw,
//     CopyFromFile and MoveFromFile store bytes that already are an envelope,
//     such as a finished tus upload, without decrypting them.
//   - safe keys: every key is checked by ValidateKey, so the same key names
//     the same object on every backend and never escapes a file:// bucket.
//   - write-once objects: a write to a key that already exists fails with a
//     ronghe.ECONFLICT error. Stored batches and evidence are never silently
//     replaced; a caller that really means to replace one deletes it first.
//     The check is atomic on file:// stores and on S3 (conditional writes);
//     on S3-compatible services that ignore If-None-Match for multipart
//     uploads two racing writers of one key can still both succeed.
//
// Two backends are supported. "file:///abs/dir" (or a plain directory path)
// keeps blobs as files under dir; writes are durable (fsync of the file and
// of its directory) before they return, and MoveFromFile is a rename when
// the source is on the same file system. "s3://bucket?region=…&endpoint=…
// &use_path_style=true" speaks to S3 or any S3-compatible service through
// the AWS SDK v2 (query parameters as documented by gocloud.dev/blob/s3blob
// and gocloud.dev/aws.V2ConfigFromURLParams; credentials come from the
// usual AWS environment, or anonymous=true).
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
)

// contentType is the media type every object is written with: blobs are
// opaque envelope ciphertext, whatever the plaintext was.
const contentType = "application/octet-stream"

// Store is an encrypting blob store over one bucket. It is safe for
// concurrent use by multiple goroutines.
type Store struct {
	bucket *blob.Bucket
	kek    envelope.KEK
	dir    string // absolute root directory of a file:// bucket, "" otherwise
	log    *slog.Logger
}

// Option configures a Store at Open or New.
type Option func(*Store)

// WithKEK sets the key-encryption key that wraps the data key of every blob
// Put writes and unwraps it in Get. A Store without a KEK can still move
// envelope bytes around (PutRaw, CopyFromFile, MoveFromFile, OpenRaw, Exists,
// Delete) but Put and Get fail.
func WithKEK(kek envelope.KEK) Option { return func(s *Store) { s.kek = kek } }

// WithLogger sets the logger for the store's diagnostics; the default is
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Open opens the bucket named by rawURL: "file:///absolute/dir", a plain
// directory path (relative paths are made absolute), or "s3://bucket?…".
// A file:// directory is created (mode 0750) if it does not exist; file URLs
// take no query parameters. The caller must Close the store.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	dir, isFile, err := fileDir(rawURL)
	if err != nil {
		return nil, err
	}
	if isFile {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot create the blob directory")
		}
		// Metadata sidecars are not written: every object is an envelope
		// with a fixed content type, and a sidecar-less file can be promoted
		// into the bucket by a plain rename. Temporary files are created
		// next to their final name so that the closing rename never crosses
		// a file system.
		b, err := fileblob.OpenBucket(dir, &fileblob.Options{
			Metadata:  fileblob.MetadataDontWrite,
			NoTempDir: true,
		})
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot open the blob directory")
		}
		s := New(b, opts...)
		s.dir = dir
		return s, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "blob store URL is malformed: %w", err)
	}
	if u.Scheme != s3blob.Scheme {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "blob store URL scheme %q is not supported (use file:// or s3://)", u.Scheme)
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "cannot open the S3 bucket")
	}
	return New(b, opts...), nil
}

// fileDir reports whether rawURL names a local directory and returns its
// absolute path.
func fileDir(rawURL string) (dir string, isFile bool, err error) {
	if rawURL == "" {
		return "", false, ronghe.Errorf(ronghe.EINVALID, "blob store URL is empty")
	}
	if !strings.Contains(rawURL, "://") {
		abs, err := filepath.Abs(rawURL)
		if err != nil {
			return "", false, ronghe.Errorf(ronghe.EINVALID, "blob directory %q: %w", rawURL, err)
		}
		return abs, true, nil
	}
	if !strings.HasPrefix(rawURL, fileblob.Scheme+"://") {
		return "", false, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false, ronghe.Errorf(ronghe.EINVALID, "blob store URL is malformed: %w", err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", false, ronghe.Errorf(ronghe.EINVALID, "file URL %q names a remote host", rawURL)
	}
	if u.RawQuery != "" {
		return "", false, ronghe.Errorf(ronghe.EINVALID, "file URL %q must not have query parameters", rawURL)
	}
	if u.Path == "" || !filepath.IsAbs(u.Path) {
		return "", false, ronghe.Errorf(ronghe.EINVALID, "file URL %q must name an absolute directory", rawURL)
	}
	return filepath.Clean(u.Path), true, nil
}

// New wraps a bucket the caller has already opened. Dir reports "" for such a
// store even if the bucket is a fileblob bucket, so MoveFromFile copies.
// Closing the Store closes the bucket.
func New(b *blob.Bucket, opts ...Option) *Store {
	s := &Store{bucket: b, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Bucket returns the underlying bucket, for the operations this package does
// not wrap (listing, signed URLs). Objects in it are envelope ciphertext.
func (s *Store) Bucket() *blob.Bucket { return s.bucket }

// Dir returns the absolute root directory of a file:// store, or "" for any
// other backend. Staging areas placed under it can be promoted by rename.
func (s *Store) Dir() string { return s.dir }

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Exists reports whether a blob is stored under key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := ValidateKey(key); err != nil {
		return false, err
	}
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, s.wrap(err, key, "check")
	}
	return ok, nil
}

// Size returns the stored (ciphertext) length of the blob under key.
func (s *Store) Size(ctx context.Context, key string) (int64, error) {
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return 0, s.wrap(err, key, "stat")
	}
	return a.Size, nil
}

// Delete removes the blob under key. Deleting a missing blob is a
// ronghe.ENOTFOUND error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := s.bucket.Delete(ctx, key); err != nil {
		return s.wrap(err, key, "delete")
	}
	if s.dir != "" {
		if err := syncDir(filepath.Dir(s.path(key))); err != nil {
			return s.wrap(err, key, "delete")
		}
	}
	return nil
}

// OpenRaw returns the stored ciphertext of the blob under key, for copying it
// elsewhere without decrypting. The caller must close it.
func (s *Store) OpenRaw(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, s.wrap(err, key, "open")
	}
	return r, nil
}

// PutRaw stores r, which must already be an envelope (it is not decrypted
// here; its header is checked so that plaintext is never stored by
// mistake), under key and returns the number of bytes written.
func (s *Store) PutRaw(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	return s.write(ctx, key, func(w io.Writer) (int64, error) {
		return copyEnvelope(w, r)
	})
}

// CopyFromFile stores the envelope file at path under key, leaving the file
// in place, and returns the number of bytes written.
func (s *Store) CopyFromFile(ctx context.Context, key, path string) (int64, error) {
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, ronghe.WrapError(ronghe.EINTERNAL, err, "cannot open the file to store")
	}
	defer f.Close()
	return s.PutRaw(ctx, key, f)
}

// MoveFromFile stores the envelope file at path under key and removes path.
// On a file:// store on the same file system it is a hard link followed by
// an unlink, so it is atomic, needs no extra space and never replaces an
// existing blob; everywhere else it is CopyFromFile followed by the removal.
// The file's contents are synced before the link, and both directories after.
func (s *Store) MoveFromFile(ctx context.Context, key, path string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if s.dir != "" {
		moved, err := s.linkFile(key, path)
		if err != nil {
			return err
		}
		if moved {
			return nil
		}
	}
	if _, err := s.CopyFromFile(ctx, key, path); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "stored the file but cannot remove the original")
	}
	return syncDir(filepath.Dir(path))
}

// linkFile promotes path into a file:// store by rename-without-replace. It
// reports false, nil when the file systems differ and a copy is needed.
func (s *Store) linkFile(key, path string) (bool, error) {
	if err := checkEnvelopeFile(path); err != nil {
		return false, err
	}
	if err := syncFile(path); err != nil {
		return false, ronghe.WrapError(ronghe.EINTERNAL, err, "cannot sync the file to store")
	}
	dst := s.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return false, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot create the blob's directory")
	}
	if err := os.Link(path, dst); err != nil {
		switch {
		case errors.Is(err, os.ErrExist):
			return false, ronghe.Errorf(ronghe.ECONFLICT, "a blob is already stored under %q", key)
		case errors.Is(err, syscall.EXDEV), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP):
			// Another file system, or one without hard links: copy instead.
			s.log.Debug("blobstore: cannot link, copying", "key", key, "err", err)
			return false, nil
		}
		return false, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot link the file into the blob directory")
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return false, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot sync the blob directory")
	}
	if err := os.Remove(path); err != nil {
		return false, ronghe.WrapError(ronghe.EINTERNAL, err, "stored the file but cannot remove the original")
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return false, ronghe.WrapError(ronghe.EINTERNAL, err, "cannot sync the staging directory")
	}
	return true, nil
}

// path is the file name of key in a file:// store. ValidateKey guarantees
// that fileblob's key escaping is the identity for it.
func (s *Store) path(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// write creates the object key, fills it with fill and commits it. The write
// fails with ronghe.ECONFLICT if the key exists. On a file:// store the data
// is fsynced before the rename that publishes it and the directory after, so
// a blob that was reported stored survives a power loss.
func (s *Store) write(ctx context.Context, key string, fill func(io.Writer) (int64, error)) (int64, error) {
	// IfNotExist makes the write itself conditional where the backend
	// supports it (fileblob; S3 single-part and multipart uploads). Some
	// S3-compatible services ignore the condition on multipart uploads, so
	// a key in use is also refused up front.
	if ok, err := s.bucket.Exists(ctx, key); err != nil {
		return 0, s.wrap(err, key, "check")
	} else if ok {
		return 0, ronghe.Errorf(ronghe.ECONFLICT, "a blob is already stored under %q", key)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var file *os.File
	w, err := s.bucket.NewWriter(ctx, key, &blob.WriterOptions{
		ContentType: contentType,
		IfNotExist:  true,
		BeforeWrite: func(as func(any) bool) error {
			as(&file) // only fileblob offers *os.File
			return nil
		},
	})
	if err != nil {
		return 0, s.wrap(err, key, "create")
	}
	n, err := fill(w)
	if err == nil && file != nil {
		if serr := file.Sync(); serr != nil {
			err = ronghe.WrapError(ronghe.EUNAVAILABLE, serr, "cannot sync the blob to disk")
		}
	}
	if err != nil {
		cancel() // a cancelled writer discards what it has
		_ = w.Close()
		return n, err
	}
	if err := w.Close(); err != nil {
		return n, s.wrap(err, key, "write")
	}
	if s.dir != "" {
		if err := syncDir(filepath.Dir(s.path(key))); err != nil {
			return n, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot sync the blob directory")
		}
	}
	return n, nil
}

// wrap turns a gocloud error into a ronghe.Error whose code says what the
// caller can do about it.
func (s *Store) wrap(err error, key, op string) error {
	if err == nil {
		return nil
	}
	var re *ronghe.Error
	if errors.As(err, &re) {
		return err
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return ronghe.WrapError(ronghe.ENOTFOUND, err, fmt.Sprintf("no blob is stored under %q", key))
	case gcerrors.FailedPrecondition, gcerrors.AlreadyExists:
		return ronghe.WrapError(ronghe.ECONFLICT, err, fmt.Sprintf("a blob is already stored under %q", key))
	case gcerrors.InvalidArgument:
		return ronghe.WrapError(ronghe.EINVALID, err, fmt.Sprintf("cannot %s blob %q", op, key))
	case gcerrors.PermissionDenied:
		return ronghe.WrapError(ronghe.EINTERNAL, err, fmt.Sprintf("the platform may not %s blob %q", op, key))
	case gcerrors.Canceled, gcerrors.DeadlineExceeded:
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, fmt.Sprintf("cannot %s blob %q: the request was cancelled", op, key))
	}
	return ronghe.WrapError(ronghe.EUNAVAILABLE, err, fmt.Sprintf("cannot %s blob %q: storage unavailable", op, key))
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

package rrs

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ronghe/ronghe"
)

// Limits bound what OpenBatch accepts from a zip, against zip bombs and
// hostile archives. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// MaxEntries is the most entries (files and directories) a zip may hold.
	MaxEntries int
	// MaxFileBytes is the largest uncompressed size of one CSV entry.
	MaxFileBytes int64
	// MaxTotalBytes is the largest uncompressed size of all entries together.
	MaxTotalBytes int64
	// MaxRatio is the largest uncompressed/compressed size ratio of an entry
	// bigger than 1 MiB. CSV compresses 5–20×; a bomb compresses ~1000×.
	MaxRatio int64
}

// DefaultLimits are the limits OpenBatch applies when none are given.
var DefaultLimits = Limits{
	MaxEntries:    64,
	MaxFileBytes:  16 << 30,
	MaxTotalBytes: 64 << 30,
	MaxRatio:      200,
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultLimits.MaxTotalBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultLimits.MaxRatio
	}
	return l
}

// BatchOptions configure OpenBatchWith and OpenZip.
type BatchOptions struct {
	// Spec is the RRS-1 version to read the files with; nil means Current().
	Spec *Spec
	// Limits bound a zip; zero fields take DefaultLimits.
	Limits Limits
}

// Batch is one batch directory or zip opened for reading.
type Batch struct {
	id      BatchID
	enc     Encoding
	spec    *Spec
	limits  Limits
	files   map[Type]string // type → path in the root or zip entry name
	unknown []string

	root    *os.Root // directory batch
	zr      *zip.Reader
	zfiles  map[string]*zip.File
	closeFn func() error
}

// OpenBatch opens a batch directory, or a zip file, named
// <inst_code>_<YYYYMMDD>_<seq>[.zip], whose CSV files are in encoding enc, with
// the current RRS-1 version and DefaultLimits. The batch ID comes from the
// base name. See OpenBatchWith.
func OpenBatch(path string, enc Encoding) (*Batch, error) {
	return OpenBatchWith(path, enc, BatchOptions{})
}

// OpenBatchWith is OpenBatch with options. A directory batch has its CSV files
// at the top level; files are opened through an os.Root so a symbolic link
// cannot lead outside the directory, and a <TYPE>.csv that is not a regular
// file is refused. A zip holds its files at the top level or in one folder
// named after the batch; see OpenZip for the checks.
func OpenBatchWith(p string, enc Encoding, opts BatchOptions) (*Batch, error) {
	if err := checkEncoding(enc); err != nil {
		return nil, err
	}
	base := filepath.Base(p)
	id, err := ParseBatchID(base)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, notFound(err, "open batch "+base)
	}
	if !st.IsDir() {
		f, err := os.Open(p)
		if err != nil {
			return nil, notFound(err, "open batch "+base)
		}
		b, err := OpenZip(f, st.Size(), id, enc, opts)
		if err != nil {
			f.Close()
			return nil, err
		}
		b.closeFn = f.Close
		return b, nil
	}
	b, err := newBatch(id, enc, opts)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(p)
	if err != nil {
		return nil, notFound(err, "open batch "+base)
	}
	b.root = root
	b.closeFn = root.Close
	entries, err := os.ReadDir(p)
	if err != nil {
		root.Close()
		return nil, ronghe.WrapError(ronghe.EINTERNAL, err, "read batch directory "+base)
	}
	for _, e := range entries {
		name := e.Name()
		t, known := b.typeOf(name)
		if !known {
			b.unknown = append(b.unknown, name)
			continue
		}
		if !e.Type().IsRegular() {
			root.Close()
			return nil, ronghe.Errorf(ronghe.EINVALID, "batch %s: %s is not a regular file", id, name)
		}
		b.files[t] = name
	}
	return b, nil
}

// OpenZip opens a batch zip read from r (size bytes) whose identity id is
// known from elsewhere (an upload's manifest). It refuses, with EINVALID:
// entries with absolute paths, backslashes, "." or ".." elements, entries
// nested deeper than one folder or in a folder not named after the batch,
// duplicate entries, symbolic links and encrypted entries; and, with
// ETOOLARGE: more entries than Limits.MaxEntries, an entry declaring more than
// MaxFileBytes, entries declaring more than MaxTotalBytes together, or an
// entry over 1 MiB compressed more than MaxRatio times. Reading an entry is
// also capped at its declared size. Close does not close r.
func OpenZip(r io.ReaderAt, size int64, id BatchID, enc Encoding, opts BatchOptions) (*Batch, error) {
	if err := checkEncoding(enc); err != nil {
		return nil, err
	}
	b, err := newBatch(id, enc, opts)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, fmt.Sprintf("batch %s: not a readable zip file", id))
	}
	if len(zr.File) > b.limits.MaxEntries {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "batch %s: zip has %d entries, at most %d allowed", id, len(zr.File), b.limits.MaxEntries)
	}
	b.zr = zr
	b.zfiles = make(map[string]*zip.File, len(zr.File))
	folder := id.String()
	var total uint64
	seen := map[string]bool{}
	for _, f := range zr.File {
		name := f.Name
		bad := func(why string) error {
			return ronghe.Errorf(ronghe.EINVALID, "batch %s: zip entry %q %s", id, clip(name), why)
		}
		if seen[name] {
			return nil, bad("appears twice")
		}
		seen[name] = true
		if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") || filepath.IsAbs(name) || strings.Contains(name, ":") {
			return nil, bad("has an absolute or unsafe path")
		}
		isDir := strings.HasSuffix(name, "/")
		elems := strings.Split(strings.TrimSuffix(name, "/"), "/")
		for _, e := range elems {
			if e == "" || e == "." || e == ".." {
				return nil, bad("has an empty, '.' or '..' path element")
			}
		}
		if isDir || f.Mode().IsDir() {
			if len(elems) != 1 || elems[0] != folder {
				return nil, bad("is a directory other than the batch folder " + folder + "/")
			}
			continue
		}
		if len(elems) > 2 || len(elems) == 2 && elems[0] != folder {
			return nil, bad("is nested beyond the batch folder " + folder + "/")
		}
		if !f.Mode().IsRegular() {
			return nil, bad("is not a regular file")
		}
		if f.Flags&0x1 != 0 {
			return nil, bad("is encrypted")
		}
		if f.UncompressedSize64 > uint64(b.limits.MaxFileBytes) {
			return nil, ronghe.Errorf(ronghe.ETOOLARGE, "batch %s: zip entry %q declares %d bytes, at most %d allowed",
				id, clip(name), f.UncompressedSize64, b.limits.MaxFileBytes)
		}
		total += f.UncompressedSize64
		if total > uint64(b.limits.MaxTotalBytes) {
			return nil, ronghe.Errorf(ronghe.ETOOLARGE, "batch %s: zip entries declare more than %d bytes together", id, b.limits.MaxTotalBytes)
		}
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64 > f.CompressedSize64*uint64(b.limits.MaxRatio) {
			return nil, ronghe.Errorf(ronghe.ETOOLARGE, "batch %s: zip entry %q is compressed more than %d:1 (a zip bomb?)",
				id, clip(name), b.limits.MaxRatio)
		}
		base := elems[len(elems)-1]
		t, known := b.typeOf(base)
		if !known {
			b.unknown = append(b.unknown, name)
			continue
		}
		if prev, dup := b.files[t]; dup {
			return nil, ronghe.Errorf(ronghe.EINVALID, "batch %s: %s appears twice in the zip (%q and %q)", id, t.FileName(), prev, name)
		}
		b.files[t] = name
		b.zfiles[name] = f
	}
	return b, nil
}

func newBatch(id BatchID, enc Encoding, opts BatchOptions) (*Batch, error) {
	if err := id.Valid(); err != nil {
		return nil, err
	}
	spec := opts.Spec
	if spec == nil {
		spec = Current()
	}
	return &Batch{id: id, enc: enc, spec: spec, limits: opts.Limits.withDefaults(), files: map[Type]string{}}, nil
}

// typeOf maps a file name "<TYPE>.csv" to a record type of the batch's spec.
func (b *Batch) typeOf(name string) (Type, bool) {
	stem, ok := strings.CutSuffix(name, ".csv")
	if !ok {
		return "", false
	}
	if rt := b.spec.Record(Type(stem)); rt != nil {
		return rt.Type, true
	}
	return "", false
}

// ID returns the batch's identity.
func (b *Batch) ID() BatchID { return b.id }

// Encoding returns the declared encoding of the batch's files.
func (b *Batch) Encoding() Encoding { return b.enc }

// Spec returns the RRS-1 version the batch is read with.
func (b *Batch) Spec() *Spec { return b.spec }

// Files returns the record types whose <TYPE>.csv is present, in the order
// of the spec.
func (b *Batch) Files() []Type {
	var out []Type
	for _, rt := range b.spec.Types {
		if _, ok := b.files[rt.Type]; ok {
			out = append(out, rt.Type)
		}
	}
	return out
}

// Has reports whether the batch holds the file of record type t.
func (b *Batch) Has(t Type) bool { _, ok := b.files[t]; return ok }

// Unknown returns the names of entries that are not a known <TYPE>.csv
// (a manifest, a stray file), sorted, so a checker can report them.
func (b *Batch) Unknown() []string {
	out := append([]string(nil), b.unknown...)
	sort.Strings(out)
	return out
}

// Open returns a Reader over the batch's file of record type t. The header
// has been checked already; the caller must Close the Reader. A missing file
// is an ENOTFOUND error.
func (b *Batch) Open(t Type) (*Reader, error) {
	rt := b.spec.Record(t)
	name, ok := b.files[t]
	if rt == nil || !ok {
		return nil, ronghe.Errorf(ronghe.ENOTFOUND, "batch %s has no %s", b.id, t.FileName())
	}
	var rc io.ReadCloser
	if b.root != nil {
		f, err := b.root.Open(name)
		if err != nil {
			return nil, notFound(err, fmt.Sprintf("batch %s: open %s", b.id, name))
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, ronghe.Errorf(ronghe.EINVALID, "batch %s: %s is not a regular file", b.id, name)
		}
		rc = f
	} else {
		zf := b.zfiles[name]
		r, err := zf.Open()
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EINVALID, err, fmt.Sprintf("batch %s: open zip entry %s", b.id, name))
		}
		rc = &limitedReadCloser{rc: r, left: int64(min(zf.UncompressedSize64, uint64(b.limits.MaxFileBytes))), name: name}
	}
	rd, err := NewReader(rc, rt, b.enc, t.FileName())
	if err != nil {
		rc.Close()
		return nil, err
	}
	rd.closer = rc
	return rd, nil
}

// Close releases the batch's directory handle or zip file. Readers opened
// from the batch should be closed first.
func (b *Batch) Close() error {
	if b.closeFn == nil {
		return nil
	}
	f := b.closeFn
	b.closeFn = nil
	return f()
}

// limitedReadCloser fails, rather than truncating silently, once more than
// left bytes come out of a zip entry: a defence in depth beside archive/zip's
// own check of the declared size.
type limitedReadCloser struct {
	rc   io.ReadCloser
	left int64
	name string
}

// Read reads from the entry and fails once the limit is passed.
func (l *limitedReadCloser) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ronghe.Errorf(ronghe.ETOOLARGE, "zip entry %s is larger than declared or allowed", l.name)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, ronghe.Errorf(ronghe.ETOOLARGE, "zip entry %s is larger than declared or allowed", l.name)
	}
	return n, err
}

// Close closes the entry.
func (l *limitedReadCloser) Close() error { return l.rc.Close() }

func notFound(err error, msg string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ronghe.WrapError(ronghe.ENOTFOUND, err, msg+": not found")
	}
	return ronghe.WrapError(ronghe.EINTERNAL, err, msg)
}

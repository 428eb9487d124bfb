package client

import (
	"archive/zip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/suite"
	"golang.org/x/sync/errgroup"
)

// Source is a batch on the submitter's disk: a directory of CSV files or a
// zip of them. Its files can be read from any offset, so an interrupted
// upload resumes where the platform says it stopped.
type Source struct {
	// Path is the directory or zip file.
	Path string
	// Files are the CSV files in name order.
	Files []SourceFile
	zip   *zip.ReadCloser
}

// SourceFile is one file of a Source.
type SourceFile struct {
	Name string
	Size int64
	open func() (io.ReadCloser, error)
}

// OpenSource opens a batch directory or zip. Only regular *.csv files at the
// top level are taken; anything else is ignored in a directory and refused in
// a zip (a zip is the batch and must hold nothing else).
func OpenSource(path string) (*Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, err.Error())
	}
	src := &Source{Path: path}
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EINVALID, err, err.Error())
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return nil, ronghe.WrapError(ronghe.EINVALID, err, err.Error())
			}
			full := filepath.Join(path, e.Name())
			src.Files = append(src.Files, SourceFile{Name: e.Name(), Size: info.Size(), open: func() (io.ReadCloser, error) { return os.Open(full) }})
		}
	} else {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EINVALID, err, path+" is neither a directory nor a readable zip: "+err.Error())
		}
		src.zip = zr
		if err := checkZip(zr); err != nil {
			zr.Close()
			return nil, err
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			name := f.Name[strings.LastIndexByte(f.Name, '/')+1:] // checkZip allows one folder
			f := f
			src.Files = append(src.Files, SourceFile{Name: name, Size: int64(f.UncompressedSize64), open: func() (io.ReadCloser, error) { return f.Open() }})
		}
	}
	if len(src.Files) == 0 {
		src.Close()
		return nil, ronghe.Errorf(ronghe.EINVALID, "%s holds no CSV files", path)
	}
	sort.Slice(src.Files, func(i, j int) bool { return src.Files[i].Name < src.Files[j].Name })
	return src, nil
}

// checkZip refuses a batch zip that could mislead or exhaust the submitter:
// unsafe entry names (absolute, "..", backslashes, NUL, nested deeper than one
// folder), two entries with the same file name, anything but regular CSV
// files, encrypted entries, and entries whose declared size or compression
// ratio passes rrs.DefaultLimits (a zip bomb). archive/zip itself stops an
// entry that inflates beyond its declared size. The limits are those the
// platform's own batch reader (rrs.OpenZip) applies.
func checkZip(zr *zip.ReadCloser) error {
	lim := rrs.DefaultLimits
	if len(zr.File) > lim.MaxEntries {
		return ronghe.Errorf(ronghe.ETOOLARGE, "zip has %d entries, at most %d allowed", len(zr.File), lim.MaxEntries)
	}
	seen := map[string]string{}
	var total uint64
	for _, f := range zr.File {
		name := f.Name
		bad := func(why string) error {
			return ronghe.Errorf(ronghe.EINVALID, "zip entry %q %s", name, why)
		}
		if name == "" || strings.ContainsAny(name, "\\\x00:") || strings.HasPrefix(name, "/") {
			return bad("has an absolute or unsafe path")
		}
		elems := strings.Split(strings.TrimSuffix(name, "/"), "/")
		for _, e := range elems {
			if e == "" || e == "." || e == ".." {
				return bad("has an empty, '.' or '..' path element")
			}
		}
		if f.FileInfo().IsDir() {
			if len(elems) != 1 {
				return bad("is a nested directory")
			}
			continue
		}
		if len(elems) > 2 {
			return bad("is nested deeper than one folder")
		}
		if !f.Mode().IsRegular() {
			return bad("is not a regular file")
		}
		if f.Flags&0x1 != 0 {
			return bad("is encrypted")
		}
		base := elems[len(elems)-1]
		if !strings.EqualFold(path.Ext(base), ".csv") {
			return bad("is not a CSV file")
		}
		if prev, dup := seen[strings.ToUpper(base)]; dup {
			return ronghe.Errorf(ronghe.EINVALID, "zip holds %s twice (%q and %q)", base, prev, name)
		}
		seen[strings.ToUpper(base)] = name
		if f.UncompressedSize64 > uint64(lim.MaxFileBytes) {
			return ronghe.Errorf(ronghe.ETOOLARGE, "zip entry %q declares %d bytes, at most %d allowed", name, f.UncompressedSize64, lim.MaxFileBytes)
		}
		if total += f.UncompressedSize64; total > uint64(lim.MaxTotalBytes) {
			return ronghe.Errorf(ronghe.ETOOLARGE, "zip entries declare more than %d bytes together", lim.MaxTotalBytes)
		}
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64 > f.CompressedSize64*uint64(lim.MaxRatio) {
			return ronghe.Errorf(ronghe.ETOOLARGE, "zip entry %q is compressed more than %d:1 (a zip bomb?)", name, lim.MaxRatio)
		}
	}
	return nil
}

// Close releases the zip, if any.
func (s *Source) Close() error {
	if s.zip != nil {
		return s.zip.Close()
	}
	return nil
}

// OpenAt returns the file's bytes from offset on.
func (f *SourceFile) OpenAt(offset int64) (io.ReadCloser, error) {
	rc, err := f.open()
	if err != nil {
		return nil, err
	}
	if offset == 0 {
		return rc, nil
	}
	if s, ok := rc.(io.Seeker); ok {
		if _, err := s.Seek(offset, io.SeekStart); err != nil {
			rc.Close()
			return nil, err
		}
		return rc, nil
	}
	if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

// ManifestOptions are the parts of a manifest the files do not tell.
type ManifestOptions struct {
	// Kind is ronghe.MessageBatch unless set.
	Kind string
	// MessageID defaults to the batch name for a batch.
	MessageID string
	// RefersTo is the answered batch of a sample answer.
	RefersTo string
	// Encoding is "UTF-8" unless set.
	Encoding string
	// StandardVersion is the current RRS-1 version unless set.
	StandardVersion string
	// Progress, if set, is told of hashed bytes.
	Progress func(n int64)
}

// BuildManifest hashes every file of src (in parallel) and returns the
// manifest bytes, ready to sign. For a batch the business date and sequence
// come from the source's name, <inst_code>_<YYYYMMDD>_<seq>.
func BuildManifest(ctx context.Context, src *Source, institution string, signer suite.Signer, opt ManifestOptions) ([]byte, *ronghe.Manifest, error) {
	m := &ronghe.Manifest{
		Version:         ronghe.ManifestVersion,
		Kind:            opt.Kind,
		MessageID:       opt.MessageID,
		Sender:          institution,
		Standard:        "RRS-1",
		StandardVersion: opt.StandardVersion,
		RefersTo:        opt.RefersTo,
		Encoding:        opt.Encoding,
		Suite:           signer.Suite(),
		KeyID:           signer.PublicKey().Fingerprint(),
		CreatedAt:       time.Now().UTC().Truncate(time.Millisecond),
	}
	if m.Kind == "" {
		m.Kind = ronghe.MessageBatch
	}
	if m.Encoding == "" {
		m.Encoding = string(rrs.UTF8)
	}
	if m.StandardVersion == "" {
		m.StandardVersion = rrs.Current().Version
	}
	base := strings.TrimSuffix(filepath.Base(filepath.Clean(src.Path)), ".zip")
	if id, err := rrs.ParseBatchID(base); err == nil {
		m.BusinessDate = id.Date.String()
		m.BatchSeq = id.Seq
		if m.MessageID == "" && m.Kind == ronghe.MessageBatch {
			m.MessageID = id.String()
		}
		if id.InstCode != institution && m.Kind == ronghe.MessageBatch {
			return nil, nil, ronghe.Errorf(ronghe.EINVALID, "batch %s belongs to %s, not to %s", base, id.InstCode, institution)
		}
	} else if m.Kind == ronghe.MessageBatch {
		return nil, nil, ronghe.Errorf(ronghe.EINVALID, "a batch must be named <inst_code>_<YYYYMMDD>_<seq>, not %q", base)
	} else {
		m.BusinessDate = time.Now().In(rrs.Shanghai).Format("2006-01-02")
	}
	m.Files = make([]ronghe.ManifestFile, len(src.Files))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range src.Files {
		i := i
		g.Go(func() error {
			f := &src.Files[i]
			rc, err := f.OpenAt(0)
			if err != nil {
				return err
			}
			defer rc.Close()
			h := suite.NewHash(m.Suite)
			n, err := io.Copy(h, progressReader{ctx: ctx, r: rc, progress: opt.Progress})
			if err != nil {
				return fmt.Errorf("hashing %s: %w", f.Name, err)
			}
			m.Files[i] = ronghe.ManifestFile{Name: f.Name, Size: n, Digest: hex.EncodeToString(h.Sum(nil))}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	return b, m, nil
}

// progressReader reports bytes read and stops when ctx is done.
type progressReader struct {
	ctx      context.Context
	r        io.Reader
	progress func(int64)
}

func (p progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	if n > 0 && p.progress != nil {
		p.progress(int64(n))
	}
	return n, err
}

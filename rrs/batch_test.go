package rrs

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
)

const testBatch = "C1234567890123_20240131_1"

func glCSV(t *testing.T, enc Encoding) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, V1_0.Record(GL), enc)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]string{"C1234567890123", "2024-01-31", "D01", "CNY", "100.00"})
	w.Write([]string{"C1234567890123", "2024-01-31", "D02", "CNY", "-5.50"})
	w.Flush()
	return buf.Bytes()
}

type entry struct {
	name string
	data []byte
	mode os.FileMode
}

func writeZip(t *testing.T, dir, name string, entries []entry) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestOpenBatchDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), testBatch)
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "GL.csv"), glCSV(t, GB18030), 0o644)
	os.WriteFile(filepath.Join(dir, "CTL.csv"), []byte("file,record_count,amount_sum,debit_sum,credit_sum\nGL,2,94.50,,\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, "txn.csv"), []byte("x"), 0o644)
	b, err := OpenBatch(dir, GB18030)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.ID().String() != testBatch || b.Encoding() != GB18030 || b.Spec() != V1_0 {
		t.Errorf("ID %v", b.ID())
	}
	if got := b.Files(); len(got) != 2 || got[0] != GL || got[1] != CTL {
		t.Errorf("Files = %v", got)
	}
	if got := strings.Join(b.Unknown(), ","); got != "manifest.json,txn.csv" {
		t.Errorf("Unknown = %q", got)
	}
	r, err := b.Open(GL)
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	if len(rows) != 2 || rows[1][4] != "-5.50" {
		t.Errorf("rows %q", rows)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	if _, err := r.Next(); err == nil {
		t.Error("Next after Close")
	}
	if _, err := b.Open(TXN); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Errorf("Open(TXN) = %v", err)
	}
}

func TestOpenBatchDirRefusesSymlink(t *testing.T) {
	base := t.TempDir()
	os.WriteFile(filepath.Join(base, "secret.csv"), glCSV(t, UTF8), 0o644)
	dir := filepath.Join(base, testBatch)
	os.Mkdir(dir, 0o755)
	if err := os.Symlink(filepath.Join(base, "secret.csv"), filepath.Join(dir, "GL.csv")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if _, err := OpenBatch(dir, UTF8); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("symlinked GL.csv: %v", err)
	}
}

func TestOpenBatchErrors(t *testing.T) {
	if _, err := OpenBatch(filepath.Join(t.TempDir(), testBatch), UTF8); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
		t.Errorf("missing batch: %v", err)
	}
	if _, err := OpenBatch(t.TempDir(), UTF8); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("bad name: %v", err)
	}
	if _, err := OpenBatch(testBatch, "latin1"); ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED {
		t.Errorf("bad encoding: %v", err)
	}
	p := filepath.Join(t.TempDir(), testBatch+".zip")
	os.WriteFile(p, []byte("not a zip"), 0o644)
	if _, err := OpenBatch(p, UTF8); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("not a zip: %v", err)
	}
}

func TestOpenBatchZip(t *testing.T) {
	for _, prefix := range []string{"", testBatch + "/"} {
		entries := []entry{{name: prefix + "GL.csv", data: glCSV(t, UTF8)}, {name: prefix + "README.txt", data: []byte("hi")}}
		if prefix != "" {
			entries = append([]entry{{name: prefix, mode: os.ModeDir | 0o755}}, entries...)
		}
		p := writeZip(t, t.TempDir(), testBatch+".zip", entries)
		b, err := OpenBatch(p, UTF8)
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if got := b.Files(); len(got) != 1 || got[0] != GL || !b.Has(GL) || b.Has(TXN) {
			t.Errorf("Files = %v", got)
		}
		if got := b.Unknown(); len(got) != 1 || got[0] != prefix+"README.txt" {
			t.Errorf("Unknown = %v", got)
		}
		r, err := b.Open(GL)
		if err != nil {
			t.Fatal(err)
		}
		if rows := readAll(t, r); len(rows) != 2 {
			t.Errorf("rows %d", len(rows))
		}
		r.Close()
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestOpenBatchZipRefusesUnsafeEntries(t *testing.T) {
	gl := glCSV(t, UTF8)
	tests := []struct {
		name    string
		entries []entry
		code    string
	}{
		{"traversal", []entry{{name: "../GL.csv", data: gl}}, ronghe.EINVALID},
		{"traversal in folder", []entry{{name: testBatch + "/../GL.csv", data: gl}}, ronghe.EINVALID},
		{"absolute", []entry{{name: "/etc/GL.csv", data: gl}}, ronghe.EINVALID},
		{"backslash", []entry{{name: "..\\GL.csv", data: gl}}, ronghe.EINVALID},
		{"drive", []entry{{name: "C:/GL.csv", data: gl}}, ronghe.EINVALID},
		{"nested", []entry{{name: testBatch + "/sub/GL.csv", data: gl}}, ronghe.EINVALID},
		{"other folder", []entry{{name: "other/GL.csv", data: gl}}, ronghe.EINVALID},
		{"other dir entry", []entry{{name: "other/", mode: os.ModeDir | 0o755}}, ronghe.EINVALID},
		{"dot", []entry{{name: "./GL.csv", data: gl}}, ronghe.EINVALID},
		{"symlink", []entry{{name: "GL.csv", data: []byte("/etc/passwd"), mode: os.ModeSymlink | 0o777}}, ronghe.EINVALID},
		{"duplicate", []entry{{name: "GL.csv", data: gl}, {name: "GL.csv", data: gl}}, ronghe.EINVALID},
		{"duplicate type", []entry{{name: "GL.csv", data: gl}, {name: testBatch + "/GL.csv", data: gl}}, ronghe.EINVALID},
		{"bomb ratio", []entry{{name: "GL.csv", data: make([]byte, 4<<20)}}, ronghe.ETOOLARGE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeZip(t, t.TempDir(), testBatch+".zip", tc.entries)
			b, err := OpenBatch(p, UTF8)
			if err == nil {
				b.Close()
				t.Fatal("accepted")
			}
			if ronghe.ErrorCode(err) != tc.code {
				t.Fatalf("code %q, want %q: %v", ronghe.ErrorCode(err), tc.code, err)
			}
		})
	}
}

func TestOpenBatchZipLimits(t *testing.T) {
	gl := glCSV(t, UTF8)
	many := make([]entry, 10)
	for i := range many {
		many[i] = entry{name: "f" + string(rune('a'+i)) + ".txt", data: []byte("x")}
	}
	p := writeZip(t, t.TempDir(), testBatch+".zip", many)
	if _, err := OpenBatchWith(p, UTF8, BatchOptions{Limits: Limits{MaxEntries: 5}}); ronghe.ErrorCode(err) != ronghe.ETOOLARGE {
		t.Errorf("entries: %v", err)
	}
	p = writeZip(t, t.TempDir(), testBatch+".zip", []entry{{name: "GL.csv", data: gl}})
	if _, err := OpenBatchWith(p, UTF8, BatchOptions{Limits: Limits{MaxFileBytes: 50}}); ronghe.ErrorCode(err) != ronghe.ETOOLARGE {
		t.Errorf("file size: %v", err)
	}
	p = writeZip(t, t.TempDir(), testBatch+".zip", []entry{{name: "GL.csv", data: gl}, {name: "CTL.csv", data: gl}})
	if _, err := OpenBatchWith(p, UTF8, BatchOptions{Limits: Limits{MaxTotalBytes: int64(len(gl)) + 10}}); ronghe.ErrorCode(err) != ronghe.ETOOLARGE {
		t.Errorf("total size: %v", err)
	}
}

// An entry that lies about its size: the header declares 200 bytes but the
// compressed stream inflates to 8 MiB. Opening passes (the declared size is
// small) but reading must stop at the declared size with an error.
func TestOpenBatchZipSizeLie(t *testing.T) {
	body := append([]byte(glHeader+"\n"), bytes.Repeat([]byte("C1234567890123,2024-01-31,D01,CNY,1.00\n"), 200000)...)
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(body)
	fw.Close()
	p := filepath.Join(t.TempDir(), testBatch+".zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "GL.csv", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(body),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: 200})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	f.Close()
	b, err := OpenBatch(p, UTF8)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := 0
	r, err := b.Open(GL)
	if err == nil {
		defer r.Close()
		for {
			_, err = r.Next()
			if err != nil {
				break
			}
			n++
		}
	}
	if err == io.EOF || n > 10 {
		t.Fatalf("read %d rows and %v past the declared size", n, err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v has no position", err)
	}
	if c := ronghe.ErrorCode(err); c != ronghe.EINTEGRITY && c != ronghe.ETOOLARGE {
		t.Fatalf("code %q: %v", c, err)
	}
}

func TestOpenZipFromReaderAt(t *testing.T) {
	p := writeZip(t, t.TempDir(), "upload-123.zip", []entry{{name: "GL.csv", data: glCSV(t, UTF8)}})
	data, _ := os.ReadFile(p)
	id, _ := ParseBatchID(testBatch)
	b, err := OpenZip(bytes.NewReader(data), int64(len(data)), id, UTF8, BatchOptions{Spec: V1_0})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID() != id || len(b.Files()) != 1 {
		t.Errorf("batch %v %v", b.ID(), b.Files())
	}
	if _, err := OpenZip(bytes.NewReader(data), int64(len(data)), BatchID{}, UTF8, BatchOptions{}); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Errorf("zero ID: %v", err)
	}
}

package client_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/rrs"
	"github.com/ronghe/ronghe/suite"
)

const batchName = "C1234567890123_20250301_1"

// entry is one member of a test zip.
type entry struct {
	name string
	data []byte
	mod  func(*zip.FileHeader)
	raw  bool // data is already deflated; mod sets the sizes and CRC
}

func writeZip(t *testing.T, entries ...entry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), batchName+".zip")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(0o644)
		if e.mod != nil {
			e.mod(h)
		}
		var w io.Writer
		var err error
		if e.raw {
			w, err = zw.CreateRaw(h)
		} else {
			w, err = zw.CreateHeader(h)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func deflate(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func csv(s string) []byte { return []byte(s + "\n") }

func TestOpenSourceZip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		entries []entry
		files   []string
	}{
		{"top level", []entry{{name: "TXN.csv", data: csv("a")}, {name: "ACCT.csv", data: csv("b")}}, []string{"ACCT.csv", "TXN.csv"}},
		{"in the batch folder", []entry{{name: batchName + "/", mod: func(h *zip.FileHeader) { h.SetMode(os.ModeDir | 0o755) }},
			{name: batchName + "/TXN.csv", data: csv("a")}}, []string{"TXN.csv"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := client.OpenSource(writeZip(t, tc.entries...))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var got []string
			for _, f := range src.Files {
				got = append(got, f.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.files, ",") {
				t.Fatalf("files = %v, want %v", got, tc.files)
			}
		})
	}
}

// TestOpenSourceRefusesHostileZips gives the same hostile zips to the
// submitter's client.OpenSource and to the platform's rrs.OpenBatch: both
// refuse them before reading any entry.
func TestOpenSourceRefusesHostileZips(t *testing.T) {
	t.Parallel()
	zeros := make([]byte, 8<<20) // deflates about 1000:1
	for _, tc := range []struct {
		name    string
		entries []entry
		code    string
	}{
		{"parent directory", []entry{{name: "../TXN.csv", data: csv("a")}}, ronghe.EINVALID},
		{"parent inside a path", []entry{{name: batchName + "/../../TXN.csv", data: csv("a")}}, ronghe.EINVALID},
		{"absolute path", []entry{{name: "/etc/TXN.csv", data: csv("a")}}, ronghe.EINVALID},
		{"backslash path", []entry{{name: `..\TXN.csv`, data: csv("a")}}, ronghe.EINVALID},
		{"drive letter", []entry{{name: "C:TXN.csv", data: csv("a")}}, ronghe.EINVALID},
		{"NUL in the name", []entry{{name: "TXN.csv\x00.txt", data: csv("a")}}, ronghe.EINVALID},
		{"nested too deep", []entry{{name: "a/b/TXN.csv", data: csv("a")}}, ronghe.EINVALID},
		{"same file in two folders", []entry{{name: "TXN.csv", data: csv("a")}, {name: batchName + "/TXN.csv", data: csv("b")}}, ronghe.EINVALID},
		{"same entry twice", []entry{{name: "TXN.csv", data: csv("a")}, {name: "TXN.csv", data: csv("b")}}, ronghe.EINVALID},
		{"symbolic link", []entry{{name: "TXN.csv", data: []byte("/etc/passwd"), mod: func(h *zip.FileHeader) { h.SetMode(os.ModeSymlink | 0o777) }}}, ronghe.EINVALID},
		{"encrypted", []entry{{name: "TXN.csv", data: csv("a"), mod: func(h *zip.FileHeader) { h.Flags |= 0x1 }}}, ronghe.EINVALID},
		{"zip bomb", []entry{{name: "TXN.csv", data: zeros}}, ronghe.ETOOLARGE},
		{"declares an absurd size", []entry{{name: "TXN.csv", data: deflate(t, csv("a")), raw: true, mod: func(h *zip.FileHeader) {
			h.CompressedSize64 = uint64(len(deflate(t, csv("a"))))
			h.UncompressedSize64 = 1 << 40
			h.CRC32 = crc32.ChecksumIEEE(csv("a"))
		}}}, ronghe.ETOOLARGE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeZip(t, tc.entries...)
			src, err := client.OpenSource(p)
			if got := ronghe.ErrorCode(err); got != tc.code {
				t.Fatalf("client.OpenSource: code %q (%v), want %q", got, err, tc.code)
			}
			if src != nil {
				t.Fatal("a refused source was returned")
			}
			b, err := rrs.OpenBatch(p, rrs.UTF8)
			if err == nil {
				b.Close()
				t.Fatalf("rrs.OpenBatch accepted it")
			}
			if got := ronghe.ErrorCode(err); got != tc.code {
				t.Logf("rrs.OpenBatch refuses with %q: %v", got, err)
			}
		})
	}
	t.Run("not a CSV file", func(t *testing.T) {
		_, err := client.OpenSource(writeZip(t, entry{name: "TXN.csv", data: csv("a")}, entry{name: "run.sh", data: csv("rm -rf /")}))
		if ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Fatalf("OpenSource = %v", err)
		}
	})
}

// TestZipEntryLargerThanDeclared is the bomb that lies in its header: the
// entry inflates to far more than it declares. Hashing it for the manifest
// fails instead of signing a digest of a truncated or endless stream.
func TestZipEntryLargerThanDeclared(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("x"), 1<<20)
	comp := deflate(t, big)
	p := writeZip(t, entry{name: "TXN.csv", data: comp, raw: true, mod: func(h *zip.FileHeader) {
		h.CompressedSize64 = uint64(len(comp))
		h.UncompressedSize64 = 100
		h.CRC32 = crc32.ChecksumIEEE(big)
	}})
	src, err := client.OpenSource(p)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	signer, err := suite.GenerateKey(ronghe.SuiteINTL)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.BuildManifest(context.Background(), src, "C1234567890123", signer, client.ManifestOptions{}); err == nil {
		t.Fatal("BuildManifest hashed an entry larger than it declares")
	}
}

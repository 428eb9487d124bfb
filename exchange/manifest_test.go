package exchange_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/exchange"
)

const testCode = "C1234567890123"

func validManifest() *ronghe.Manifest {
	return &ronghe.Manifest{
		Version: "1", MessageID: testCode + "_20250301_1", Kind: ronghe.MessageBatch, Sender: testCode,
		Standard: "RRS-1", StandardVersion: "1.0", BusinessDate: "2025-03-01", BatchSeq: 1, Encoding: "UTF-8",
		Suite: ronghe.SuiteGM, KeyID: "gm:0123", CreatedAt: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC),
		Files: []ronghe.ManifestFile{
			{Name: "TXN.csv", Size: 10, Digest: strings.Repeat("ab", 32)},
			{Name: "ACCT.CSV", Size: 0, Digest: strings.Repeat("0f", 32)},
		},
	}
}

func TestParseManifestAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*ronghe.Manifest)
	}{
		{"GM batch", func(*ronghe.Manifest) {}},
		{"INTL batch", func(m *ronghe.Manifest) { m.Suite = ronghe.SuiteINTL }},
		{"GB18030", func(m *ronghe.Manifest) { m.Encoding = "GB18030" }},
		{"every record file", func(m *ronghe.Manifest) {
			m.Files = nil
			for _, n := range []string{"ACCT", "TXN", "BAL", "GL", "STAT", "FXP", "CTL"} {
				m.Files = append(m.Files, ronghe.ManifestFile{Name: n + ".csv", Size: 1, Digest: strings.Repeat("11", 32)})
			}
		}},
		{"correction", func(m *ronghe.Manifest) { m.BatchSeq = 12; m.MessageID = testCode + "_20250301_12" }},
		{"sample answer", func(m *ronghe.Manifest) {
			m.Kind = ronghe.MessageSampleAnswer
			m.MessageID = "answer-1"
			m.RefersTo = testCode + "_20250301_1"
			m.Files = []ronghe.ManifestFile{{Name: "P01_answer.csv", Size: 5, Digest: strings.Repeat("cd", 32)}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := validManifest()
			tc.mod(m)
			raw := marshal(t, m)
			got, err := exchange.ParseManifest(raw)
			if err != nil {
				t.Fatalf("ParseManifest = %v", err)
			}
			if !bytes.Equal(marshal(t, got), raw) {
				t.Fatalf("parsed manifest differs from the input")
			}
		})
	}
}

func TestParseManifestRefuses(t *testing.T) {
	t.Parallel()
	mod := func(f func(*ronghe.Manifest)) []byte {
		m := validManifest()
		f(m)
		return marshal(t, m)
	}
	fileName := func(name string) []byte {
		return mod(func(m *ronghe.Manifest) { m.Files[0].Name = name })
	}
	good := marshal(t, validManifest())
	for _, tc := range []struct {
		name string
		in   []byte
		code string
	}{
		{"oversize", append(append([]byte(nil), good[:len(good)-1]...), append(bytes.Repeat([]byte(" "), 64<<10), '}')...), ronghe.ETOOLARGE},
		{"empty", nil, ronghe.EINVALID},
		{"not JSON", []byte("manifest_version=1"), ronghe.EINVALID},
		{"array", []byte(`[]`), ronghe.EINVALID},
		{"unknown member", bytes.Replace(good, []byte(`{"manifest_version"`), []byte(`{"signature":"x","manifest_version"`), 1), ronghe.EINVALID},
		{"unknown member in a file", bytes.Replace(good, []byte(`{"name":"TXN.csv"`), []byte(`{"path":"/etc","name":"TXN.csv"`), 1), ronghe.EINVALID},
		{"data after the object", append(append([]byte(nil), good...), []byte(`{"manifest_version":"1"}`)...), ronghe.EINVALID},
		{"wrong type", bytes.Replace(good, []byte(`"batch_seq":1`), []byte(`"batch_seq":"1"`), 1), ronghe.EINVALID},
		{"version 2", mod(func(m *ronghe.Manifest) { m.Version = "2" }), ronghe.EUNSUPPORTED},
		{"no version", mod(func(m *ronghe.Manifest) { m.Version = "" }), ronghe.EUNSUPPORTED},
		{"message id with slash", mod(func(m *ronghe.Manifest) { m.MessageID = "a/b"; m.Kind = ronghe.MessageSampleAnswer; m.RefersTo = "x" }), ronghe.EINVALID},
		{"message id empty", mod(func(m *ronghe.Manifest) { m.MessageID = "" }), ronghe.EINVALID},
		{"message id too long", mod(func(m *ronghe.Manifest) { m.MessageID = strings.Repeat("a", 129) }), ronghe.EINVALID},
		{"unknown suite", mod(func(m *ronghe.Manifest) { m.Suite = "RSA" }), ronghe.EUNSUPPORTED},
		{"other standard", mod(func(m *ronghe.Manifest) { m.Standard = "RRS-2" }), ronghe.EUNSUPPORTED},
		{"unknown standard version", mod(func(m *ronghe.Manifest) { m.StandardVersion = "9.9" }), ronghe.EUNSUPPORTED},
		{"encoding GBK", mod(func(m *ronghe.Manifest) { m.Encoding = "GBK" }), ronghe.EUNSUPPORTED},
		{"encoding latin1", mod(func(m *ronghe.Manifest) { m.Encoding = "ISO-8859-1" }), ronghe.EUNSUPPORTED},
		{"business date not a date", mod(func(m *ronghe.Manifest) { m.BusinessDate = "2025-02-30" }), ronghe.EINVALID},
		{"business date compact", mod(func(m *ronghe.Manifest) { m.BusinessDate = "20250301" }), ronghe.EINVALID},
		{"batch seq 0", mod(func(m *ronghe.Manifest) { m.BatchSeq = 0; m.MessageID = testCode + "_20250301_0" }), ronghe.EINVALID},
		{"batch id other than its name", mod(func(m *ronghe.Manifest) { m.MessageID = testCode + "_20250301_2" }), ronghe.EINVALID},
		{"batch of another sender", mod(func(m *ronghe.Manifest) { m.Sender = "D1234567890123" }), ronghe.EINVALID},
		{"batch date other than its name", mod(func(m *ronghe.Manifest) { m.BusinessDate = "2025-03-02" }), ronghe.EINVALID},
		{"batch referring to a message", mod(func(m *ronghe.Manifest) { m.RefersTo = "x" }), ronghe.EINVALID},
		{"sample answer without refers_to", mod(func(m *ronghe.Manifest) { m.Kind = ronghe.MessageSampleAnswer; m.MessageID = "a1" }), ronghe.EINVALID},
		{"unknown kind", mod(func(m *ronghe.Manifest) { m.Kind = "rrs.report" }), ronghe.EINVALID},
		{"no files", mod(func(m *ronghe.Manifest) { m.Files = nil }), ronghe.EINVALID},
		{"parent directory", fileName("../TXN.csv"), ronghe.EINVALID},
		{"nested path", fileName("a/b.csv"), ronghe.EINVALID},
		{"absolute path", fileName("/TXN.csv"), ronghe.EINVALID},
		{"backslash path", fileName(`..\TXN.csv`), ronghe.EINVALID},
		{"NUL in the name", fileName("TXN.csv\x00"), ronghe.EINVALID},
		{"NUL before the extension", fileName("TXN\x00.csv"), ronghe.EINVALID},
		{"newline after the name", fileName("TXN.csv\n"), ronghe.EINVALID},
		{"dot dot in the stem", fileName("TX..N.csv"), ronghe.EINVALID},
		{"hidden file", fileName(".TXN.csv"), ronghe.EINVALID},
		{"not csv", fileName("TXN.txt"), ronghe.EINVALID},
		{"bare extension", fileName(".csv"), ronghe.EINVALID},
		{"full-width letters", fileName("ＴＸＮ.csv"), ronghe.EINVALID},
		{"name too long", fileName(strings.Repeat("A", 65) + ".csv"), ronghe.EINVALID},
		{"not a record file in a batch", fileName("REPORT.csv"), ronghe.EINVALID},
		{"lower-case record type", fileName("txn.csv"), ronghe.EINVALID},
		{"same file twice, differing in case", mod(func(m *ronghe.Manifest) { m.Files[1].Name = "TXN.CSV" }), ronghe.EINVALID},
		{"negative size", mod(func(m *ronghe.Manifest) { m.Files[0].Size = -1 }), ronghe.EINVALID},
		{"upper-case digest", mod(func(m *ronghe.Manifest) { m.Files[0].Digest = strings.Repeat("AB", 32) }), ronghe.EINVALID},
		{"short digest", mod(func(m *ronghe.Manifest) { m.Files[0].Digest = strings.Repeat("ab", 31) }), ronghe.EINVALID},
		{"long digest", mod(func(m *ronghe.Manifest) { m.Files[0].Digest = strings.Repeat("ab", 48) }), ronghe.EINVALID},
		{"non-hex digest", mod(func(m *ronghe.Manifest) { m.Files[0].Digest = strings.Repeat("zz", 32) }), ronghe.EINVALID},
		{"no digest", mod(func(m *ronghe.Manifest) { m.Files[0].Digest = "" }), ronghe.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := exchange.ParseManifest(tc.in)
			wantCode(t, err, tc.code)
			if m != nil {
				t.Fatal("a refused manifest was returned")
			}
		})
	}
}

var safeFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*\.(csv|CSV)$`)

// FuzzParseManifest checks that ParseManifest never panics, only refuses
// with the documented codes, and that what it accepts is safe to act on:
// bare file names, unique files, well-formed digests, and the same manifest
// again after a JSON round trip.
func FuzzParseManifest(f *testing.F) {
	f.Add(marshal(f, validManifest()))
	sa := validManifest()
	sa.Kind, sa.MessageID, sa.RefersTo = ronghe.MessageSampleAnswer, "ans", "x"
	f.Add(marshal(f, sa))
	f.Add([]byte(`{"manifest_version":"1","files":[{"name":"../TXN.csv","size":-1,"digest":"AB"}]}`))
	f.Add([]byte(`{"manifest_version":"1"} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := exchange.ParseManifest(b)
		if err != nil {
			switch c := ronghe.ErrorCode(err); c {
			case ronghe.EINVALID, ronghe.EUNSUPPORTED, ronghe.ETOOLARGE:
			default:
				t.Fatalf("refused with code %q: %v", c, err)
			}
			return
		}
		if !m.Suite.Valid() || m.Version != ronghe.ManifestVersion || len(m.Files) == 0 {
			t.Fatalf("accepted an incomplete manifest: %+v", m)
		}
		seen := map[string]bool{}
		for _, fl := range m.Files {
			if !safeFileName.MatchString(fl.Name) || strings.Contains(fl.Name, "..") {
				t.Fatalf("accepted unsafe file name %q", fl.Name)
			}
			if seen[strings.ToUpper(fl.Name)] {
				t.Fatalf("accepted %q twice", fl.Name)
			}
			seen[strings.ToUpper(fl.Name)] = true
			if d, err := hex.DecodeString(fl.Digest); err != nil || len(d) != 32 || fl.Size < 0 {
				t.Fatalf("accepted file %+v", fl)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exchange.ParseManifest(again); err != nil {
			t.Fatalf("the re-encoded accepted manifest is refused: %v", err)
		}
	})
}

package evidence_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/suite"
)

// keys are one GM and one INTL platform key and an outsider's key.
type keys struct {
	gm, intl, other suite.Signer
}

func newKeys(t testing.TB) keys {
	t.Helper()
	gen := func(s ronghe.Suite) suite.Signer {
		k, err := suite.GenerateKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return keys{gm: gen(ronghe.SuiteGM), intl: gen(ronghe.SuiteINTL), other: gen(ronghe.SuiteINTL)}
}

func pubs(signers ...suite.Signer) []*suite.PublicKey {
	var out []*suite.PublicKey
	for _, s := range signers {
		out = append(out, s.PublicKey())
	}
	return out
}

func sampleReceipt() evidence.Receipt {
	return evidence.Receipt{
		Type: evidence.TypeReceipt, MessageID: "B0000000000001_20250301_1", Sender: "B0000000000001",
		ManifestDigest: bytes.Repeat([]byte{7}, 32), DigestAlg: "SM3", SenderKeyID: "gm:0011",
		SenderSignature: []byte{1, 2, 3}, ReceivedAt: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC),
		LogOrigin: "ronghe.test/log", LogIndex: 41, Leaf: []byte("leaf"), Checkpoint: []byte("cp\n"),
		InclusionProof: [][]byte{bytes.Repeat([]byte{9}, 32)},
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ronghe.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// roundTrip marshals and parses d, as a document travels.
func roundTrip(t *testing.T, d *evidence.Signed) *evidence.Signed {
	t.Helper()
	p, err := evidence.Parse(d.Marshal())
	if err != nil {
		t.Fatalf("Parse(Marshal()) = %v", err)
	}
	return p
}

func TestSignVerifyBothSuites(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	want := sampleReceipt()
	for _, tc := range []struct {
		name    string
		signers []suite.Signer
		trusted []suite.Signer
	}{
		{"GM only", []suite.Signer{k.gm}, []suite.Signer{k.gm}},
		{"INTL only", []suite.Signer{k.intl}, []suite.Signer{k.intl}},
		{"both, both trusted", []suite.Signer{k.intl, k.gm}, []suite.Signer{k.gm, k.intl}},
		{"both, one trusted", []suite.Signer{k.intl, k.gm}, []suite.Signer{k.gm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := evidence.Sign(want, tc.signers...)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Signatures) != len(tc.signers) {
				t.Fatalf("%d signatures, want %d", len(doc.Signatures), len(tc.signers))
			}
			for i, s := range doc.Signatures {
				if s.KeyID != tc.signers[i].PublicKey().Fingerprint() || s.Suite != tc.signers[i].Suite() {
					t.Errorf("signature %d names %s/%s, want %s/%s", i, s.KeyID, s.Suite, tc.signers[i].PublicKey().Fingerprint(), tc.signers[i].Suite())
				}
			}
			var got evidence.Receipt
			if err := roundTrip(t, doc).Verify(evidence.TypeReceipt, pubs(tc.trusted...), &got); err != nil {
				t.Fatalf("Verify = %v", err)
			}
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(got)
			if !bytes.Equal(wb, gb) {
				t.Fatalf("decoded payload differs:\n got %s\nwant %s", gb, wb)
			}
			if typ, err := doc.Type(); err != nil || typ != evidence.TypeReceipt {
				t.Fatalf("Type() = %q, %v", typ, err)
			}
		})
	}
}

func TestSignBytesKeepsExactPayload(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	// Members in an unusual order and spacing: the signature is over these
	// exact bytes, never a re-encoding.
	payload := []byte(`{ "party":"B1", "type":"ronghe.ack/v1" }`)
	doc, err := evidence.SignBytes(payload, k.gm)
	if err != nil {
		t.Fatal(err)
	}
	back := roundTrip(t, doc)
	if !bytes.Equal(back.Payload, payload) {
		t.Fatalf("payload changed in transit: %q", back.Payload)
	}
	if err := k.gm.PublicKey().Verify(payload, back.Signatures[0].Sig); err != nil {
		t.Fatalf("signature is not over the exact bytes: %v", err)
	}
	if err := back.Verify(evidence.TypeAck, pubs(k.gm), nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	signed := func(signers ...suite.Signer) *evidence.Signed {
		doc, err := evidence.Sign(sampleReceipt(), signers...)
		if err != nil {
			t.Fatal(err)
		}
		return roundTrip(t, doc)
	}
	for _, tc := range []struct {
		name    string
		doc     func() *evidence.Signed
		want    string
		trusted []suite.Signer
		code    string
	}{
		{"tampered payload", func() *evidence.Signed {
			d := signed(k.gm, k.intl)
			d.Payload = bytes.Replace(d.Payload, []byte(`"log_index":41`), []byte(`"log_index":42`), 1)
			return d
		}, evidence.TypeReceipt, []suite.Signer{k.gm, k.intl}, ronghe.EINTEGRITY},
		{"payload tampered, only the untampered-by key trusted", func() *evidence.Signed {
			d := signed(k.gm)
			d.Payload = append(bytes.TrimSuffix(d.Payload, []byte("}")), []byte(`,"x":1}`)...)
			return d
		}, evidence.TypeReceipt, []suite.Signer{k.gm}, ronghe.EINTEGRITY},
		{"flipped signature bit", func() *evidence.Signed {
			d := signed(k.intl)
			d.Signatures[0].Sig[3] ^= 0x10
			return d
		}, evidence.TypeReceipt, []suite.Signer{k.intl}, ronghe.EINTEGRITY},
		{"signatures swapped between key IDs", func() *evidence.Signed {
			d := signed(k.gm, k.intl)
			d.Signatures[0].Sig, d.Signatures[1].Sig = d.Signatures[1].Sig, d.Signatures[0].Sig
			return d
		}, evidence.TypeReceipt, []suite.Signer{k.gm, k.intl}, ronghe.EINTEGRITY},
		{"second signature by a trusted key ID is bad", func() *evidence.Signed {
			d := signed(k.gm)
			bad := d.Signatures[0]
			bad.Sig = append([]byte(nil), bad.Sig...)
			bad.Sig[len(bad.Sig)-1] ^= 1
			d.Signatures = append(d.Signatures, bad)
			return d
		}, evidence.TypeReceipt, []suite.Signer{k.gm}, ronghe.EINTEGRITY},
		{"wrong type", func() *evidence.Signed { return signed(k.gm, k.intl) }, evidence.TypeAck, []suite.Signer{k.gm, k.intl}, ronghe.EINTEGRITY},
		{"missing trusted signature", func() *evidence.Signed { return signed(k.intl) }, evidence.TypeReceipt, []suite.Signer{k.gm, k.intl}, ronghe.EINTEGRITY},
		{"signed only by an outsider", func() *evidence.Signed { return signed(k.other) }, evidence.TypeReceipt, []suite.Signer{k.intl}, ronghe.EINTEGRITY},
		{"no trusted keys", func() *evidence.Signed { return signed(k.gm) }, evidence.TypeReceipt, nil, ronghe.EINVALID},
		{"payload not an object", func() *evidence.Signed {
			d, err := evidence.SignBytes([]byte(`["ronghe.receipt/v1"]`), k.gm)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}, evidence.TypeReceipt, []suite.Signer{k.gm}, ronghe.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r evidence.Receipt
			err := tc.doc().Verify(tc.want, pubs(tc.trusted...), &r)
			wantCode(t, err, tc.code)
			if r.MessageID != "" {
				t.Fatalf("a refused document was decoded into the result: %+v", r)
			}
		})
	}
}

func TestVerifyIgnoresExtraUntrustedSignature(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	doc, err := evidence.Sign(sampleReceipt(), k.gm, k.other, k.intl)
	if err != nil {
		t.Fatal(err)
	}
	// An untrusted signature that does not even verify changes nothing.
	doc.Signatures[1].Sig = []byte("garbage")
	if err := roundTrip(t, doc).Verify(evidence.TypeReceipt, pubs(k.gm, k.intl), nil); err != nil {
		t.Fatalf("Verify with an extra untrusted signature = %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	doc, err := evidence.Sign(sampleReceipt(), k.gm)
	if err != nil {
		t.Fatal(err)
	}
	good := doc.Marshal()
	if _, err := evidence.Parse(good); err != nil {
		t.Fatal(err)
	}
	sig := doc.Signatures[0]
	withSigs := func(n int) []byte {
		d := *doc
		d.Signatures = nil
		for range n {
			d.Signatures = append(d.Signatures, sig)
		}
		return d.Marshal()
	}
	if _, err := evidence.Parse(withSigs(4)); err != nil {
		t.Fatalf("4 signatures refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		code string
	}{
		{"unknown member", []byte(strings.Replace(string(good), `{"payload"`, `{"note":"x","payload"`, 1)), ronghe.EINVALID},
		{"unknown member in a signature", []byte(strings.Replace(string(good), `{"key_id"`, `{"extra":1,"key_id"`, 1)), ronghe.EINVALID},
		{"five signatures", withSigs(5), ronghe.EINVALID},
		{"no signatures", withSigs(0), ronghe.EINVALID},
		{"not JSON", []byte("payload=1"), ronghe.EINVALID},
		{"empty", nil, ronghe.EINVALID},
		{"null", []byte("null"), ronghe.EINVALID},
		{"payload not base64", []byte(`{"payload":"%%%","signatures":[]}`), ronghe.EINVALID},
		{"data after the object", append(append([]byte(nil), good...), []byte(` {"payload":""}`)...), ronghe.EINVALID},
		{"oversize", append(append([]byte(nil), good...), bytes.Repeat([]byte(" "), 16<<20)...), ronghe.ETOOLARGE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := evidence.Parse(tc.in)
			wantCode(t, err, tc.code)
			if d != nil {
				t.Fatalf("Parse returned a document with its error")
			}
		})
	}
	// Trailing white space is not data.
	if _, err := evidence.Parse(append(append([]byte(nil), good...), " \n"...)); err != nil {
		t.Fatalf("trailing white space refused: %v", err)
	}
}

func TestBundleRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	receipt, err := evidence.Sign(sampleReceipt(), k.gm, k.intl)
	if err != nil {
		t.Fatal(err)
	}
	b := evidence.Bundle{
		Type: evidence.TypeBundle, Manifest: []byte(`{"manifest_version":"1"}`), ManifestSignature: []byte{1},
		SenderKey: &ronghe.Key{ID: "gm:00", Owner: "B1", Suite: ronghe.SuiteGM, PublicKeyPEM: "pem", ValidFrom: time.Unix(0, 0).UTC()},
		Receipt:   receipt, PlatformKeys: []string{"a", "b"}, LogVerifiers: []string{"c", "d"},
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back evidence.Bundle
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Receipt.Payload, receipt.Payload) || !bytes.Equal(back.Manifest, b.Manifest) {
		t.Fatal("bundle did not keep the exact receipt payload and manifest bytes")
	}
	if err := back.Receipt.Verify(evidence.TypeReceipt, pubs(k.gm, k.intl), nil); err != nil {
		t.Fatalf("receipt inside a bundle no longer verifies: %v", err)
	}
}

// FuzzParse checks that Parse never panics, refuses what it must, and that
// whatever it accepts survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	k := newKeys(f)
	doc, err := evidence.Sign(sampleReceipt(), k.gm, k.intl)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc.Marshal())
	f.Add([]byte(`{"payload":"e30=","signatures":[{"key_id":"x","suite":"GM","sig":"AA=="}]}`))
	f.Add([]byte(`{"payload":null,"signatures":[{},{},{},{},{}]}`))
	f.Add([]byte(`{"payload":"","signatures":[{}]} trailing`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := evidence.Parse(b)
		if err != nil {
			if c := ronghe.ErrorCode(err); c != ronghe.EINVALID && c != ronghe.ETOOLARGE {
				t.Fatalf("Parse error code %q: %v", c, err)
			}
			return
		}
		if n := len(d.Signatures); n < 1 || n > 4 {
			t.Fatalf("Parse accepted %d signatures", n)
		}
		again, err := evidence.Parse(d.Marshal())
		if err != nil {
			t.Fatalf("re-parse of an accepted document: %v", err)
		}
		if !bytes.Equal(again.Payload, d.Payload) || len(again.Signatures) != len(d.Signatures) {
			t.Fatal("round trip changed the document")
		}
		for i := range d.Signatures {
			a, b := d.Signatures[i], again.Signatures[i]
			if a.KeyID != b.KeyID || a.Suite != b.Suite || !bytes.Equal(a.Sig, b.Sig) {
				t.Fatalf("signature %d changed in the round trip", i)
			}
		}
		// Verification of arbitrary input must fail cleanly, never panic.
		_ = d.Verify(evidence.TypeReceipt, pubs(k.gm), nil)
	})
}

//lint:file-ignore SA1019 SM2 keys are ecdsa.PublicKey values on gmsm's curve, which crypto/ecdh and the new encoders do not know; X and Y are the only way to reach the point.

package client_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/tlog"
	"github.com/ronghe/ronghe/tlog/client"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const origin = "ronghe.example/log"

type keys struct {
	ed      ed25519.PrivateKey
	sm      *sm2.PrivateKey
	edVKey  string
	smVKey  string
	signers []note.Signer
}

func newKeys(t testing.TB) keys {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keysFrom(t, ed, sm)
}

func keysFrom(t testing.TB, ed ed25519.PrivateKey, sm *sm2.PrivateKey) keys {
	t.Helper()
	edS, err := tlog.NewEd25519Signer(origin, ed)
	if err != nil {
		t.Fatal(err)
	}
	smS, err := tlog.NewSM2Signer(origin, sm)
	if err != nil {
		t.Fatal(err)
	}
	edV, smV, err := tlog.VerifierKeys(origin, ed.Public().(ed25519.PublicKey), &sm.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return keys{ed: ed, sm: sm, edVKey: edV, smVKey: smV, signers: []note.Signer{edS, smS}}
}

func (k keys) verifier(t testing.TB) *client.LogVerifier {
	t.Helper()
	v, err := client.NewLogVerifier(origin, k.edVKey, k.smVKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t testing.TB, body string, signers ...note.Signer) []byte {
	t.Helper()
	raw, err := note.Sign(&note.Note{Text: body}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func body(size uint64, hash []byte) string {
	return string(client.Checkpoint{Origin: origin, Size: size, Hash: hash}.Marshal())
}

func TestSM2KeyIDAndVerifierKey(t *testing.T) {
	k := newKeys(t)
	point := append([]byte{4}, k.sm.PublicKey.X.FillBytes(make([]byte, 32))...)
	point = append(point, k.sm.PublicKey.Y.FillBytes(make([]byte, 32))...)

	// The key ID, computed here from the documented formula.
	h := sha256.New()
	h.Write([]byte(origin + "\n"))
	h.Write([]byte{0xff})
	h.Write([]byte("ronghe/sm2-sm3/v1"))
	h.Write(point)
	wantID := binary.BigEndian.Uint32(h.Sum(nil))

	typed := append([]byte("\xffronghe/sm2-sm3/v1"), point...)
	want := fmt.Sprintf("%s+%08x+%s", origin, wantID, base64.StdEncoding.EncodeToString(typed))
	if k.smVKey != want {
		t.Fatalf("SM2 verifier key\n got %s\nwant %s", k.smVKey, want)
	}
	v, err := client.NewSM2Verifier(k.smVKey)
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyHash() != wantID || v.Name() != origin || k.signers[1].KeyHash() != wantID {
		t.Fatalf("key IDs: verifier %08x signer %08x want %08x", v.KeyHash(), k.signers[1].KeyHash(), wantID)
	}
	msg := []byte("hello\n")
	sig, err := k.signers[1].Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Verify(msg, sig) {
		t.Fatal("SM2 signature does not verify")
	}
	// The signature is a standard GB/T 32918 signature with the default ID.
	if !sm2.VerifyASN1WithSM2(&k.sm.PublicKey, []byte("1234567812345678"), msg, sig) {
		t.Fatal("SM2 signature is not an SM2/SM3 signature with ID 1234567812345678")
	}
	if v.Verify([]byte("hellO\n"), sig) {
		t.Fatal("SM2 signature verifies another message")
	}

	// The Ed25519 key is exactly what golang.org/x/mod/sumdb/note makes.
	noteV, err := note.NewEd25519VerifierKey(origin, k.ed.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if noteV != k.edVKey {
		t.Fatalf("Ed25519 verifier key %s, want %s", k.edVKey, noteV)
	}
	if k.signers[0].KeyHash() == wantID {
		t.Fatal("Ed25519 and SM2 key IDs collide")
	}
}

func TestVerifierKeyRejects(t *testing.T) {
	k := newKeys(t)
	name, rest, _ := strings.Cut(k.smVKey, "+")
	hash, key64, _ := strings.Cut(rest, "+")
	key, _ := base64.StdEncoding.DecodeString(key64)
	reencode := func(name string, typed []byte) string {
		return fmt.Sprintf("%s+%08x+%s", name, client.KeyHash(name, typed), base64.StdEncoding.EncodeToString(typed))
	}
	offCurve := bytes.Clone(key)
	offCurve[len(offCurve)-1] ^= 1
	compressed := append([]byte(client.SM2SignatureType), 2)
	compressed = append(compressed, key[len(client.SM2SignatureType)+1:len(client.SM2SignatureType)+33]...)
	tests := []struct {
		name, vkey, code string
	}{
		{"wrong hash", name + "+00000000+" + key64, ronghe.EINVALID},
		{"hash not hex", name + "+zzzzzzzz+" + key64, ronghe.EINVALID},
		{"short hash", name + "+" + hash[:7] + "+" + key64, ronghe.EINVALID},
		{"no key", name + "+" + hash, ronghe.EINVALID},
		{"bad base64", name + "+" + hash + "+" + key64[:len(key64)-2] + "!!", ronghe.EINVALID},
		{"name with space", reencode("a b", key), ronghe.EINVALID},
		{"empty name", reencode("", key), ronghe.EINVALID},
		{"Ed25519 key", k.edVKey, ronghe.EUNSUPPORTED},
		{"other 0xff identifier", reencode(name, append([]byte("\xffother/sm2-sm3/v1"), key[18:]...)), ronghe.EUNSUPPORTED},
		{"truncated point", reencode(name, key[:len(key)-1]), ronghe.EINVALID},
		{"long point", reencode(name, append(bytes.Clone(key), 0)), ronghe.EINVALID},
		{"point off the curve", reencode(name, offCurve), ronghe.EINVALID},
		{"compressed point", reencode(name, compressed), ronghe.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.NewSM2Verifier(tc.vkey)
			if got := ronghe.ErrorCode(err); got != tc.code {
				t.Fatalf("NewSM2Verifier(%q) = %v (code %q), want %q", tc.vkey, err, got, tc.code)
			}
		})
	}
	if _, err := client.NewEd25519Verifier(k.smVKey); ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED {
		t.Fatalf("NewEd25519Verifier(SM2 key) = %v", err)
	}
	if _, err := client.NewLogVerifier(origin, k.smVKey, k.edVKey); err == nil {
		t.Fatal("NewLogVerifier accepted swapped keys")
	}
	if _, err := client.NewLogVerifier("other.example/log", k.edVKey, k.smVKey); err == nil {
		t.Fatal("NewLogVerifier accepted keys named after another origin")
	}
}

func TestVerifyCheckpoint(t *testing.T) {
	k := newKeys(t)
	v := k.verifier(t)
	root := sha256.Sum256([]byte("root"))
	b := body(42, root[:])
	witness, _, err := note.GenerateKey(rand.Reader, "witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	witnessSigner, err := note.NewSigner(witness)
	if err != nil {
		t.Fatal(err)
	}
	other := newKeys(t)
	// A signer using the log's name and the SM2 key ID but another key.
	impostor := sm2Impostor{Signer: other.signers[1], hash: k.signers[1].KeyHash()}

	tests := []struct {
		name string
		note []byte
		code string
	}{
		{"both", sign(t, b, k.signers...), ""},
		{"both plus a witness", sign(t, b, k.signers[0], witnessSigner, k.signers[1]), ""},
		{"Ed25519 only", sign(t, b, k.signers[0]), ronghe.EINTEGRITY},
		{"SM2 only", sign(t, b, k.signers[1]), ronghe.EINTEGRITY},
		{"other log's keys", sign(t, b, other.signers...), ronghe.EINTEGRITY},
		{"SM2 key ID with another key", sign(t, b, k.signers[0], impostor), ronghe.EINTEGRITY},
		{"other origin", sign(t, strings.Replace(b, origin, origin+"2", 1), k.signers...), ronghe.EINVALID},
		{"malformed body", sign(t, origin+"\n42\n", k.signers...), ronghe.EINVALID},
		{"not a note", []byte("hello"), ronghe.EINVALID},
		{"too large", bytes.Repeat([]byte("a"), client.MaxCheckpointSize+1), ronghe.ETOOLARGE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := v.VerifyCheckpoint(tc.note)
			if got := ronghe.ErrorCode(err); got != tc.code {
				t.Fatalf("VerifyCheckpoint = %v (code %q), want %q", err, got, tc.code)
			}
			if tc.code == "" && (cp.Size != 42 || !bytes.Equal(cp.Hash, root[:]) || cp.Origin != origin) {
				t.Fatalf("VerifyCheckpoint = %+v", cp)
			}
		})
	}
}

// sm2Impostor signs with another SM2 key but claims a given key ID.
type sm2Impostor struct {
	note.Signer
	hash uint32
}

func (s sm2Impostor) KeyHash() uint32 { return s.hash }

func TestParseCheckpointBody(t *testing.T) {
	h := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	good := []struct {
		text string
		size uint64
		ext  int
	}{
		{origin + "\n0\n" + h + "\n", 0, 0},
		{origin + "\n18446744073709551615\n" + h + "\n", 1<<64 - 1, 0},
		{origin + "\n5\n" + h + "\nextension one\n— not a sig\n", 5, 2},
	}
	for _, g := range good {
		cp, err := client.ParseCheckpointBody(g.text)
		if err != nil {
			t.Fatalf("ParseCheckpointBody(%q): %v", g.text, err)
		}
		if cp.Size != g.size || len(cp.Extensions) != g.ext || string(cp.Marshal()) != g.text {
			t.Fatalf("ParseCheckpointBody(%q) = %+v", g.text, cp)
		}
	}
	bad := []string{
		"",
		origin + "\n5\n" + h,
		origin + "\n5\n",
		"\n5\n" + h + "\n",
		"bad origin\n5\n" + h + "\n",
		origin + "\n05\n" + h + "\n",
		origin + "\n-5\n" + h + "\n",
		origin + "\n+5\n" + h + "\n",
		origin + "\n 5\n" + h + "\n",
		origin + "\n18446744073709551616\n" + h + "\n",
		origin + "\n\n" + h + "\n",
		origin + "\n5\n" + h[:len(h)-4] + "\n",
		origin + "\n5\n" + strings.TrimRight(h, "=") + "\n",
		origin + "\n5\n" + h + "\n\n",
		origin + "\n5\n" + h + "\n" + strings.Repeat("e\n", 17),
	}
	for _, b := range bad {
		if cp, err := client.ParseCheckpointBody(b); err == nil {
			t.Errorf("ParseCheckpointBody(%q) accepted: %+v", b, cp)
		}
	}
}

// TestGoldenCheckpoint pins the wire format: a checkpoint signed once with
// fixed keys must keep verifying, so old receipts stay checkable for ever.
// Regenerate with: go test ./tlog/client -run Golden -update
func TestGoldenCheckpoint(t *testing.T) {
	k := keysFrom(t, fixedEd(), fixedSM2(t))
	cpPath := filepath.Join("testdata", "checkpoint.golden")
	keysPath := filepath.Join("testdata", "verifier-keys.golden")
	if *update {
		leaves := goldenLeaves()
		raw := sign(t, body(uint64(len(leaves)), refRoot(leaves)), k.signers...)
		if err := os.WriteFile(cpPath, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keysPath, []byte(k.edVKey+"\n"+k.smVKey+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	vkeys, err := os.ReadFile(keysPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(vkeys)), "\n")
	if len(lines) != 2 || lines[0] != k.edVKey || lines[1] != k.smVKey {
		t.Fatalf("verifier keys changed:\n%s\nwant\n%s\n%s", vkeys, k.edVKey, k.smVKey)
	}
	v, err := client.NewLogVerifier(origin, lines[0], lines[1])
	if err != nil {
		t.Fatal(err)
	}
	cp, err := v.VerifyCheckpoint(raw)
	if err != nil {
		t.Fatalf("golden checkpoint no longer verifies: %v", err)
	}
	leaves := goldenLeaves()
	for i := range leaves {
		if err := client.VerifyInclusion(leaves[i], uint64(i), refInclusion(leaves, i), cp); err != nil {
			t.Fatalf("golden inclusion %d: %v", i, err)
		}
	}
}

func goldenLeaves() [][]byte {
	var out [][]byte
	for i := 0; i < 7; i++ {
		out = append(out, []byte(fmt.Sprintf("golden leaf %d", i)))
	}
	return out
}

func TestLeafHash(t *testing.T) {
	got := client.LeafHash([]byte("x"))
	want := sha256.Sum256([]byte("\x00x"))
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("LeafHash = %x, want %x", got, want)
	}
	if !bytes.Equal(got, rfc6962.DefaultHasher.HashLeaf([]byte("x"))) {
		t.Fatal("LeafHash differs from RFC 6962")
	}
}

// fixedEd and fixedSM2 return keys derived from constant seeds, for golden
// files and fuzz seeds. Never use such keys outside tests.
func fixedEd() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("ronghe tlog golden ed25519"))
	return ed25519.NewKeyFromSeed(seed[:])
}

func fixedSM2(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	d := sha256.Sum256([]byte("ronghe tlog golden sm2"))
	sm, err := sm2.NewPrivateKey(d[:])
	if err != nil {
		t.Fatal(err)
	}
	return sm
}

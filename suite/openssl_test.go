package suite

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
)

// openssl runs the openssl binary in dir and returns its standard output. The
// test is skipped when openssl is not installed.
func openssl(t *testing.T, dir string, args ...string) ([]byte, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not on PATH; interoperability with OpenSSL 3 not checked")
	}
	cmd := exec.CommandContext(t.Context(), path, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("openssl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, err
}

// requireOpenSSL3 skips the test unless `openssl version` reports 3.x, the
// first release line that verifies SM2 with a distinguishing ID.
func requireOpenSSL3(t *testing.T) {
	out, err := openssl(t, t.TempDir(), "version")
	if err != nil {
		t.Skipf("openssl version failed: %v", err)
	}
	if !bytes.HasPrefix(out, []byte("OpenSSL 3.")) {
		t.Skipf("need OpenSSL 3 for raw-input SM2/Ed25519 verification, have %q", strings.TrimSpace(string(out)))
	}
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// verifyArgs is the command line of OPENSSL.md that checks a signature.
func verifyArgs(s ronghe.Suite) []string {
	args := []string{"pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg", "-sigfile", "sig"}
	if s == ronghe.SuiteGM {
		args = append(args, "-digest", "sm3", "-pkeyopt", "distid:"+DefaultSM2ID)
	}
	return args
}

// TestOpenSSLVerifiesOurSignatures checks that OpenSSL 3 accepts signatures
// made here and rejects a signature over another message.
func TestOpenSSLVerifiesOurSignatures(t *testing.T) {
	requireOpenSSL3(t)
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			k := generate(t, s)
			pub, err := k.PublicKey().MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("RRS-1 batch manifest\n\x00\xff binary too")
			sig, err := k.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"pub.pem": pub, "msg": msg, "sig": sig})
			out, err := openssl(t, dir, verifyArgs(s)...)
			if err != nil || !bytes.Contains(out, []byte("Signature Verified Successfully")) {
				t.Fatalf("openssl rejected our %s signature: %v %s", s, err, out)
			}
			writeFiles(t, dir, map[string][]byte{"msg": append(msg, '!')})
			if out, err := openssl(t, dir, verifyArgs(s)...); err == nil {
				t.Fatalf("openssl accepted a signature over another message: %s", out)
			}
		})
	}
}

// TestWeVerifyOpenSSLSignatures checks the other direction: OpenSSL signs with
// a key it generated, and this package parses the key and verifies.
func TestWeVerifyOpenSSLSignatures(t *testing.T) {
	requireOpenSSL3(t)
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			dir := t.TempDir()
			alg := "ED25519"
			if s == ronghe.SuiteGM {
				alg = "SM2"
			}
			msg := []byte("signed by openssl")
			writeFiles(t, dir, map[string][]byte{"msg": msg})
			if _, err := openssl(t, dir, "genpkey", "-algorithm", alg, "-out", "key.pem"); err != nil {
				t.Fatal(err)
			}
			args := []string{"pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg", "-out", "sig"}
			if s == ronghe.SuiteGM {
				args = append(args, "-digest", "sm3", "-pkeyopt", "distid:"+DefaultSM2ID)
			}
			if _, err := openssl(t, dir, args...); err != nil {
				t.Fatal(err)
			}
			if _, err := openssl(t, dir, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"); err != nil {
				t.Fatal(err)
			}
			read := func(name string) []byte {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			pub, err := ParsePublicKeyPEM(read("pub.pem"))
			if err != nil {
				t.Fatal(err)
			}
			if pub.Suite() != s {
				t.Fatalf("OpenSSL %s key detected as %s", alg, pub.Suite())
			}
			if err := pub.Verify(msg, read("sig")); err != nil {
				t.Fatalf("OpenSSL signature: %v", err)
			}
			priv, err := ParsePrivateKeyPEM(read("key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			if !priv.PublicKey().Equal(pub) {
				t.Fatal("OpenSSL private and public key parsed to different keys")
			}
			// Fingerprint agrees with OpenSSL's digest of the DER SPKI.
			out, err := openssl(t, dir, "pkey", "-pubin", "-in", "pub.pem", "-outform", "DER", "-out", "pub.der")
			if err != nil {
				t.Fatal(err, out)
			}
			dgst := "-sha256"
			if s == ronghe.SuiteGM {
				dgst = "-sm3"
			}
			out, err = openssl(t, dir, "dgst", dgst, "-r", "pub.der")
			if err != nil {
				t.Fatal(err)
			}
			hexDigest, _, _ := strings.Cut(string(out), " ")
			if want := strings.ToLower(string(s)) + ":" + hexDigest[:32]; pub.Fingerprint() != want {
				t.Fatalf("Fingerprint %s, OpenSSL says %s", pub.Fingerprint(), want)
			}
		})
	}
}

// TestOpenSSLDigests checks Digest against `openssl dgst -sm3` / `-sha256`.
func TestOpenSSLDigests(t *testing.T) {
	requireOpenSSL3(t)
	data := bytes.Repeat([]byte("0123456789abcdef\n"), 1000)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"data": data})
	for s, flag := range map[ronghe.Suite]string{ronghe.SuiteGM: "-sm3", ronghe.SuiteINTL: "-sha256"} {
		out, err := openssl(t, dir, "dgst", flag, "-r", "data")
		if err != nil {
			t.Fatal(err)
		}
		hexDigest, _, _ := strings.Cut(string(out), " ")
		if got := hex.EncodeToString(Digest(s, data)); got != hexDigest {
			t.Errorf("%s digest %s, openssl %s %s", s, got, flag, hexDigest)
		}
	}
}

//lint:file-ignore SA1019 SM2 keys are ecdsa.PublicKey values on gmsm's curve, which crypto/ecdh and the new encoders do not know; X and Y are the only way to reach the point.

package suite

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/ronghe/ronghe"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func generate(t testing.TB, s ronghe.Suite) Signer {
	t.Helper()
	k, err := GenerateKey(s)
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", s, err)
	}
	if k.Suite() != s || k.PublicKey().Suite() != s {
		t.Fatalf("GenerateKey(%s) made a %s/%s key", s, k.Suite(), k.PublicKey().Suite())
	}
	return k
}

func TestSignVerify(t *testing.T) {
	msgs := [][]byte{nil, []byte("a"), []byte("batch manifest"), bytes.Repeat([]byte{0xA5}, 100_000)}
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			k := generate(t, s)
			other := generate(t, s)
			for _, msg := range msgs {
				sig, err := k.Sign(msg)
				if err != nil {
					t.Fatal(err)
				}
				if s == ronghe.SuiteINTL && len(sig) != Ed25519SignatureSize {
					t.Fatalf("Ed25519 signature is %d bytes", len(sig))
				}
				if s == ronghe.SuiteGM && (len(sig) > MaxSM2SignatureSize || sig[0] != 0x30) {
					t.Fatalf("SM2 signature is not a DER sequence: %x", sig)
				}
				if err := k.PublicKey().Verify(msg, sig); err != nil {
					t.Fatalf("Verify of a fresh signature: %v", err)
				}
				wantCode(t, other.PublicKey().Verify(msg, sig), ronghe.EINTEGRITY)
				wantCode(t, k.PublicKey().Verify(append(bytes.Clone(msg), 0), sig), ronghe.EINTEGRITY)
				for i := range sig {
					bad := bytes.Clone(sig)
					bad[i] ^= 0x01
					wantCode(t, k.PublicKey().Verify(msg, bad), ronghe.EINTEGRITY)
				}
				wantCode(t, k.PublicKey().Verify(msg, sig[:len(sig)-1]), ronghe.EINTEGRITY)
				wantCode(t, k.PublicKey().Verify(msg, append(bytes.Clone(sig), 0)), ronghe.EINTEGRITY)
				wantCode(t, k.PublicKey().Verify(msg, nil), ronghe.EINTEGRITY)
			}
		})
	}
}

func TestSM2SignatureUsesDefaultID(t *testing.T) {
	k := generate(t, ronghe.SuiteGM)
	pub := k.PublicKey().CryptoPublicKey().(*ecdsa.PublicKey)
	msg := []byte("distinguishing id")
	sig, err := k.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(pub, []byte("1234567812345678"), msg, sig) {
		t.Fatal("signature does not verify with ID 1234567812345678")
	}
	if sm2.VerifyASN1WithSM2(pub, []byte("ronghe"), msg, sig) {
		t.Fatal("signature verifies with another ID")
	}
	// And the other way: a signature made by gmsm with the default ID verifies.
	priv := k.CryptoSigner().(*sm2.PrivateKey)
	sig2, err := priv.SignWithSM2(rand.Reader, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.PublicKey().Verify(msg, sig2); err != nil {
		t.Fatal(err)
	}
}

func TestCrossSuiteSignaturesRejected(t *testing.T) {
	gm, intl := generate(t, ronghe.SuiteGM), generate(t, ronghe.SuiteINTL)
	msg := []byte("m")
	gsig, _ := gm.Sign(msg)
	isig, _ := intl.Sign(msg)
	wantCode(t, intl.PublicKey().Verify(msg, gsig), ronghe.EINTEGRITY)
	wantCode(t, gm.PublicKey().Verify(msg, isig), ronghe.EINTEGRITY)
}

func TestVerifyEmptyKey(t *testing.T) {
	var k *PublicKey
	wantCode(t, k.Verify(nil, nil), ronghe.EINVALID)
	wantCode(t, (&PublicKey{}).Verify(nil, nil), ronghe.EINVALID)
}

var fingerprintRE = regexp.MustCompile(`^(gm|intl):[0-9a-f]{32}$`)

func TestPEMRoundTrip(t *testing.T) {
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			k := generate(t, s)
			pub := k.PublicKey()
			if !fingerprintRE.MatchString(pub.Fingerprint()) {
				t.Fatalf("fingerprint %q", pub.Fingerprint())
			}
			if pub.String() != pub.Fingerprint() {
				t.Fatalf("String() = %q", pub.String())
			}
			pubPEM, err := pub.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			pub2, err := ParsePublicKeyPEM(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(pub2) || pub2.Fingerprint() != pub.Fingerprint() || pub2.Suite() != s {
				t.Fatalf("public key changed in PEM round trip: %s vs %s", pub, pub2)
			}
			der := pub.MarshalPKIX()
			pub3, err := ParsePublicKeyDER(der)
			if err != nil || !pub3.Equal(pub) {
				t.Fatalf("DER round trip: %v", err)
			}
			der[0] ^= 0xff // the returned slice is a copy
			if !bytes.Equal(pub.MarshalPKIX(), pub3.MarshalPKIX()) {
				t.Fatal("MarshalPKIX exposes internal state")
			}

			privPEM, err := MarshalPrivateKeyPEM(k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Fatalf("private key PEM header: %.40s", privPEM)
			}
			k2, err := ParsePrivateKeyPEM(privPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !k2.PublicKey().Equal(pub) || k2.Suite() != s {
				t.Fatal("private key changed in PEM round trip")
			}
			sig, err := k2.Sign([]byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Verify([]byte("x"), sig); err != nil {
				t.Fatal(err)
			}
		})
	}
	other := generate(t, ronghe.SuiteGM).PublicKey()
	if other.Equal(generate(t, ronghe.SuiteGM).PublicKey()) || other.Equal(nil) {
		t.Fatal("distinct keys compare equal")
	}
}

// The expected fingerprints were computed with OpenSSL, independently of
// this package:  openssl pkey -in F -pubout -outform DER | openssl dgst -sm3
// (or -sha256), keeping the first 32 hex digits.
func TestFixtureKeys(t *testing.T) {
	tests := []struct {
		file, pubFile string
		suite         ronghe.Suite
		fingerprint   string
	}{
		{"gm_pkcs8.pem", "gm_pub.pem", ronghe.SuiteGM, "gm:e67ab8ffdd6f119dc93c392e1e83d804"},
		{"gm_sec1.pem", "", ronghe.SuiteGM, "gm:dbdc46d075ed9579033b30369e3ec49f"},
		{"gm_sec1_ec.pem", "", ronghe.SuiteGM, "gm:dbdc46d075ed9579033b30369e3ec49f"},
		{"intl_pkcs8.pem", "intl_pub.pem", ronghe.SuiteINTL, "intl:7f62e287e6a2d974957bd2afa774d6da"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			k, err := ParsePrivateKeyPEM(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if k.Suite() != tt.suite || k.PublicKey().Fingerprint() != tt.fingerprint {
				t.Fatalf("got %s %s, want %s %s", k.Suite(), k.PublicKey().Fingerprint(), tt.suite, tt.fingerprint)
			}
			if tt.pubFile == "" {
				return
			}
			pub, err := ParsePublicKeyPEM(readTestdata(t, tt.pubFile))
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(k.PublicKey()) {
				t.Fatal("public key file does not match the private key")
			}
			// Our encoding of the public key is byte-identical to OpenSSL's.
			mine, _ := k.PublicKey().MarshalPEM()
			if !bytes.Equal(mine, readTestdata(t, tt.pubFile)) {
				t.Fatalf("MarshalPEM differs from OpenSSL:\n%s\n%s", mine, readTestdata(t, tt.pubFile))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	gmPub := readTestdata(t, "gm_pub.pem")
	tests := []struct {
		name    string
		in      []byte
		private bool
		code    string
	}{
		{"empty public", nil, false, ronghe.EINVALID},
		{"garbage public", []byte("not a key"), false, ronghe.EINVALID},
		{"private given as public", readTestdata(t, "gm_pkcs8.pem"), false, ronghe.EINVALID},
		{"two blocks", append(bytes.Clone(gmPub), gmPub...), false, ronghe.EINVALID},
		{"bad DER", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), false, ronghe.EINVALID},
		{"RSA public", readTestdata(t, "rsa_pub.pem"), false, ronghe.EUNSUPPORTED},
		{"P-256 public", readTestdata(t, "p256_pub.pem"), false, ronghe.EUNSUPPORTED},
		{"empty private", nil, true, ronghe.EINVALID},
		{"public given as private", gmPub, true, ronghe.EINVALID},
		{"encrypted private", readTestdata(t, "intl_encrypted.pem"), true, ronghe.EINVALID},
		{"P-256 private", readTestdata(t, "p256_pkcs8.pem"), true, ronghe.EUNSUPPORTED},
		{"bad DER private", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), true, ronghe.EINVALID},
		{"legacy encrypted", []byte("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00000000000000000000000000000000\n\nAAAA\n-----END EC PRIVATE KEY-----\n"), true, ronghe.EUNSUPPORTED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.private {
				_, err = ParsePrivateKeyPEM(tt.in)
			} else {
				_, err = ParsePublicKeyPEM(tt.in)
			}
			wantCode(t, err, tt.code)
		})
	}
}

func TestNewPublicKeyAndSigner(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	smPriv, _ := sm2.GenerateKey(rand.Reader)

	for _, tt := range []struct {
		name string
		key  crypto.PublicKey
		code string
	}{
		{"P-256", &p256.PublicKey, ronghe.EUNSUPPORTED},
		{"nil ecdsa", (*ecdsa.PublicKey)(nil), ronghe.EUNSUPPORTED},
		{"short ed25519", ed25519.PublicKey(make([]byte, 31)), ronghe.EINVALID},
		{"off-curve SM2", &ecdsa.PublicKey{Curve: sm2.P256(), X: big.NewInt(1), Y: big.NewInt(1)}, ronghe.EINVALID},
		{"private", smPriv, ronghe.EINVALID},
		{"string", "key", ronghe.EUNSUPPORTED},
	} {
		_, err := NewPublicKey(tt.key)
		if got := ronghe.ErrorCode(err); got != tt.code {
			t.Errorf("NewPublicKey(%s) code %q (%v), want %q", tt.name, got, err, tt.code)
		}
	}

	for _, tt := range []struct {
		name  string
		key   crypto.PrivateKey
		suite ronghe.Suite
	}{
		{"sm2", smPriv, ronghe.SuiteGM},
		{"ecdsa on SM2", &smPriv.PrivateKey, ronghe.SuiteGM},
		{"ed25519", edPriv, ronghe.SuiteINTL},
		{"*ed25519", &edPriv, ronghe.SuiteINTL},
	} {
		s, err := NewSigner(tt.key)
		if err != nil {
			t.Fatalf("NewSigner(%s): %v", tt.name, err)
		}
		if s.Suite() != tt.suite {
			t.Fatalf("NewSigner(%s) suite %s", tt.name, s.Suite())
		}
	}
	for _, tt := range []struct {
		name string
		key  crypto.PrivateKey
		code string
	}{
		{"P-256", p256, ronghe.EUNSUPPORTED},
		{"nil sm2", (*sm2.PrivateKey)(nil), ronghe.EUNSUPPORTED},
		{"short ed25519", ed25519.PrivateKey(make([]byte, 10)), ronghe.EINVALID},
		{"zero SM2 scalar", &sm2.PrivateKey{PrivateKey: ecdsa.PrivateKey{PublicKey: smPriv.PublicKey, D: new(big.Int)}}, ronghe.EINVALID},
		{"nil", nil, ronghe.EUNSUPPORTED},
	} {
		_, err := NewSigner(tt.key)
		if got := ronghe.ErrorCode(err); got != tt.code {
			t.Errorf("NewSigner(%s) code %q (%v), want %q", tt.name, got, err, tt.code)
		}
	}
	if _, err := GenerateKey("RSA"); ronghe.ErrorCode(err) != ronghe.EUNSUPPORTED {
		t.Fatalf("GenerateKey(RSA) = %v", err)
	}
	if _, err := MarshalPrivateKeyPEM(nil); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("MarshalPrivateKeyPEM(nil) = %v", err)
	}
}

// The crypto.Signer a Signer exposes must issue certificates whose public key
// is the Signer's own, for both suites, so the CA can be built on it.
func TestCryptoSignerIssuesCertificates(t *testing.T) {
	for _, s := range suites {
		t.Run(string(s), func(t *testing.T) {
			k := generate(t, s)
			tmpl := &x509.Certificate{
				SerialNumber:          big.NewInt(1),
				Subject:               pkix.Name{CommonName: "ronghe test " + string(s)},
				NotBefore:             time.Unix(1_700_000_000, 0),
				NotAfter:              time.Unix(1_800_000_000, 0),
				BasicConstraintsValid: true,
				IsCA:                  true,
				KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
			}
			der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, k.PublicKey().CryptoPublicKey(), k.CryptoSigner())
			if err != nil {
				t.Fatal(err)
			}
			cert, err := smx509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(cert); err != nil {
				t.Fatalf("self-signed certificate does not verify: %v", err)
			}
			pub, err := NewPublicKey(cert.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(k.PublicKey()) {
				t.Fatal("certificate key differs from the signer's")
			}
			if !bytes.Equal(cert.RawSubjectPublicKeyInfo, k.PublicKey().MarshalPKIX()) {
				t.Fatal("certificate SPKI differs from MarshalPKIX")
			}
		})
	}
}

func TestSignConcurrently(t *testing.T) {
	for _, s := range suites {
		k := generate(t, s)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				msg := []byte{byte(i)}
				sig, err := k.Sign(msg)
				if err == nil {
					err = k.PublicKey().Verify(msg, sig)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

package suite

import (
	"testing"

	"github.com/ronghe/ronghe"
)

func FuzzParsePublicKeyPEM(f *testing.F) {
	for _, name := range []string{"gm_pub.pem", "intl_pub.pem", "rsa_pub.pem", "p256_pub.pem"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKeyPEM(b)
		if err != nil {
			if code := ronghe.ErrorCode(err); code != ronghe.EINVALID && code != ronghe.EUNSUPPORTED {
				t.Fatalf("error code %q: %v", code, err)
			}
			return
		}
		// Anything accepted must re-encode and re-parse to the same key.
		out, err := k.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		k2, err := ParsePublicKeyPEM(out)
		if err != nil || !k2.Equal(k) || k2.Fingerprint() != k.Fingerprint() {
			t.Fatalf("accepted key does not round-trip: %v", err)
		}
		if k.Verify([]byte("m"), b) == nil {
			t.Fatal("fuzz input verified as a signature")
		}
	})
}

func FuzzParsePrivateKeyPEM(f *testing.F) {
	for _, name := range []string{"gm_pkcs8.pem", "gm_sec1.pem", "gm_sec1_ec.pem", "intl_pkcs8.pem", "p256_pkcs8.pem", "intl_encrypted.pem"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePrivateKeyPEM(b)
		if err != nil {
			if code := ronghe.ErrorCode(err); code != ronghe.EINVALID && code != ronghe.EUNSUPPORTED {
				t.Fatalf("error code %q: %v", code, err)
			}
			return
		}
		sig, err := k.Sign(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.PublicKey().Verify(b, sig); err != nil {
			t.Fatalf("accepted key cannot sign verifiably: %v", err)
		}
	})
}

// FuzzVerify feeds arbitrary signatures to both suites' verifiers: they must
// never panic and must answer EINTEGRITY for everything but a real signature.
func FuzzVerify(f *testing.F) {
	gm, err := ParsePrivateKeyPEM(readTestdata(f, "gm_pkcs8.pem"))
	if err != nil {
		f.Fatal(err)
	}
	intl, err := ParsePrivateKeyPEM(readTestdata(f, "intl_pkcs8.pem"))
	if err != nil {
		f.Fatal(err)
	}
	msg := []byte("fuzz")
	for _, k := range []Signer{gm, intl} {
		sig, _ := k.Sign(msg)
		f.Add(msg, sig)
	}
	f.Add([]byte{}, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, m, sig []byte) {
		for _, k := range []Signer{gm, intl} {
			err := k.PublicKey().Verify(m, sig)
			if err != nil && ronghe.ErrorCode(err) != ronghe.EINTEGRITY {
				t.Fatalf("Verify error code %q", ronghe.ErrorCode(err))
			}
		}
	})
}

package client_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/ronghe/ronghe/tlog/client"
)

func goldenSeeds(f *testing.F) {
	for _, name := range []string{"checkpoint.golden", "verifier-keys.golden"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseCheckpointBody(f *testing.F) {
	f.Add([]byte(body(7, bytes.Repeat([]byte{1}, 32))))
	f.Add([]byte(origin + "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	goldenSeeds(f)
	f.Fuzz(func(t *testing.T, text []byte) {
		cp, err := client.ParseCheckpointBody(string(text))
		if err != nil {
			return
		}
		// Accepted bodies are canonical.
		if got := cp.Marshal(); !bytes.Equal(got, text) {
			t.Fatalf("accepted non-canonical body:\n in  %q\n out %q", text, got)
		}
	})
}

func FuzzVerifyCheckpoint(f *testing.F) {
	k := keysFrom(f, fixedEd(), fixedSM2(f))
	v := k.verifier(f)
	f.Add(sign(f, body(3, bytes.Repeat([]byte{9}, 32)), k.signers...))
	f.Add(sign(f, body(3, bytes.Repeat([]byte{9}, 32)), k.signers[0]))
	goldenSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		cp, err := v.VerifyCheckpoint(raw)
		if err != nil {
			return
		}
		// Anything accepted was signed by the test keys over exactly the
		// parsed body.
		if !bytes.HasPrefix(raw, cp.Marshal()) {
			t.Fatalf("accepted checkpoint whose body is not %q", cp.Marshal())
		}
	})
}

func FuzzNewSM2Verifier(f *testing.F) {
	k := keysFrom(f, fixedEd(), fixedSM2(f))
	f.Add(k.smVKey)
	f.Add(k.edVKey)
	f.Add("a+00000000+/w==")
	f.Fuzz(func(t *testing.T, vkey string) {
		v, err := client.NewSM2Verifier(vkey)
		if err != nil {
			return
		}
		// Accepted keys are canonical: re-encoding the parsed point under the
		// parsed name gives the same text.
		_, key64, _ := strings.Cut(vkey[len(v.Name())+1:], "+")
		typed, err := base64.StdEncoding.DecodeString(key64)
		if err != nil {
			t.Fatalf("accepted undecodable key: %v", err)
		}
		pub, err := sm2.NewPublicKey(typed[len(client.SM2SignatureType):])
		if err != nil {
			t.Fatalf("accepted invalid point: %v", err)
		}
		again, err := client.SM2VerifierKey(v.Name(), pub)
		if err != nil || again != vkey {
			t.Fatalf("re-encoded key %q (%v), want %q", again, err, vkey)
		}
		if v.Verify([]byte("msg\n"), nil) {
			t.Fatal("empty signature verified")
		}
	})
}

package suite

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
)

var suites = []ronghe.Suite{ronghe.SuiteGM, ronghe.SuiteINTL}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ronghe.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestCheck(t *testing.T) {
	for _, s := range suites {
		if err := Check(s); err != nil {
			t.Errorf("Check(%s) = %v", s, err)
		}
	}
	for _, s := range []ronghe.Suite{"", "gm", "RSA"} {
		wantCode(t, Check(s), ronghe.EUNSUPPORTED)
	}
}

// Known answers: SM3 from GB/T 32905-2016 Appendix A, SHA-256 from FIPS 180-2.
func TestDigestKnownAnswers(t *testing.T) {
	abcd := strings.Repeat("abcd", 16)
	tests := []struct {
		suite ronghe.Suite
		in    string
		want  string
	}{
		{ronghe.SuiteGM, "abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{ronghe.SuiteGM, abcd, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
		{ronghe.SuiteINTL, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{ronghe.SuiteINTL, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		want := mustHex(t, tt.want)
		if got := Digest(tt.suite, []byte(tt.in)); !bytes.Equal(got, want) {
			t.Errorf("Digest(%s, %.8q) = %x, want %x", tt.suite, tt.in, got, want)
		}
		h := NewHash(tt.suite)
		if h.Size() != DigestSize {
			t.Errorf("NewHash(%s).Size() = %d", tt.suite, h.Size())
		}
		// Feed byte by byte to exercise the streaming path.
		for i := range len(tt.in) {
			h.Write([]byte{tt.in[i]})
		}
		if got := h.Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("NewHash(%s) over %.8q = %x, want %x", tt.suite, tt.in, got, want)
		}
	}
}

func TestHashPanicsOnUnknownSuite(t *testing.T) {
	for name, f := range map[string]func(){
		"NewHash": func() { NewHash("MD5") },
		"Digest":  func() { Digest("MD5", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("%s of an unknown suite did not panic", name)
				}
			}()
			f()
		})
	}
}

func TestKeySize(t *testing.T) {
	for s, want := range map[ronghe.Suite]int{ronghe.SuiteGM: 16, ronghe.SuiteINTL: 32, "X": 0} {
		if got := KeySize(s); got != want {
			t.Errorf("KeySize(%q) = %d, want %d", s, got, want)
		}
	}
}

// Known answers: SM4-GCM from RFC 8998 Appendix A.1; AES-256-GCM is test
// case 16 of McGrew & Viega, "The Galois/Counter Mode of Operation".
func TestAEADKnownAnswers(t *testing.T) {
	tests := []struct {
		suite                   ronghe.Suite
		key, nonce, aad, pt, ct string
	}{
		{
			suite: ronghe.SuiteGM,
			key:   "0123456789ABCDEFFEDCBA9876543210",
			nonce: "00001234567800000000ABCD",
			aad:   "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2",
			pt: "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD" +
				"EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
			ct: "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735" +
				"D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D" +
				"83DE3541E4C2B58177E065A9BF7B62EC",
		},
		{
			suite: ronghe.SuiteINTL,
			key:   "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
			nonce: "cafebabefacedbaddecaf888",
			aad:   "feedfacedeadbeeffeedfacedeadbeefabaddad2",
			pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
				"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
			ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
				"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" +
				"76fc6ece0f4e1768cddf8853bb2d551b",
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.suite), func(t *testing.T) {
			aead, err := NewAEAD(tt.suite, mustHex(t, tt.key))
			if err != nil {
				t.Fatal(err)
			}
			if aead.NonceSize() != NonceSize || aead.Overhead() != TagSize {
				t.Fatalf("nonce %d overhead %d", aead.NonceSize(), aead.Overhead())
			}
			nonce, aad, pt, want := mustHex(t, tt.nonce), mustHex(t, tt.aad), mustHex(t, tt.pt), mustHex(t, tt.ct)
			got := aead.Seal(nil, nonce, pt, aad)
			if !bytes.Equal(got, want) {
				t.Fatalf("Seal = %x\nwant  %x", got, want)
			}
			back, err := aead.Open(nil, nonce, got, aad)
			if err != nil || !bytes.Equal(back, pt) {
				t.Fatalf("Open = %x, %v", back, err)
			}
			for _, tamper := range []func(ct, aad []byte){
				func(ct, aad []byte) { ct[0] ^= 1 },
				func(ct, aad []byte) { ct[len(ct)-1] ^= 0x80 },
				func(ct, aad []byte) { aad[3] ^= 4 },
			} {
				ct, a := bytes.Clone(got), bytes.Clone(aad)
				tamper(ct, a)
				if _, err := aead.Open(nil, nonce, ct, a); err == nil {
					t.Fatal("Open accepted a tampered message")
				}
			}
		})
	}
}

func TestNewAEADErrors(t *testing.T) {
	tests := []struct {
		suite ronghe.Suite
		key   int
		code  string
	}{
		{ronghe.SuiteGM, 32, ronghe.EINVALID},
		{ronghe.SuiteGM, 0, ronghe.EINVALID},
		{ronghe.SuiteINTL, 16, ronghe.EINVALID},
		{ronghe.SuiteINTL, 24, ronghe.EINVALID},
		{"DES", 8, ronghe.EUNSUPPORTED},
	}
	for _, tt := range tests {
		_, err := NewAEAD(tt.suite, make([]byte, tt.key))
		wantCode(t, err, tt.code)
	}
}

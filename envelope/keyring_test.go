package envelope

import (
	"bytes"
	"io"
	"testing"

	"github.com/ronghe/ronghe"
)

func TestKeyringReader(t *testing.T) {
	old, cur := newKEK(t, "kek-2025"), newKEK(t, "kek-2026")
	ring, err := NewKeyring(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	for _, kek := range []KEK{old, cur} {
		pt := pseudo(200_000, 4)
		ct := seal(t, kek, ronghe.SuiteGM, pt, "one")
		h, err := ReadHeader(bytes.NewReader(ct))
		if err != nil || h.KEKID != kek.ID() {
			t.Fatalf("ReadHeader: %+v %v", h, err)
		}
		r, err := NewKeyringReader(t.Context(), bytes.NewReader(ct), ring)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("keyring read under %s: %v", kek.ID(), err)
		}
	}
	stranger := newKEK(t, "kek-other")
	ct := seal(t, stranger, ronghe.SuiteINTL, []byte("x"), "one")
	_, err = NewKeyringReader(t.Context(), bytes.NewReader(ct), ring)
	wantCode(t, err, ronghe.EINTEGRITY)
	_, err = NewKeyringReader(t.Context(), bytes.NewReader(ct), nil)
	wantCode(t, err, ronghe.EINVALID)

	if _, err := NewKeyring(old, newKEK(t, "kek-2025")); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("duplicate IDs: %v", err)
	}
	if _, err := NewKeyring(old, nil); ronghe.ErrorCode(err) != ronghe.EINVALID {
		t.Fatalf("nil KEK: %v", err)
	}
}

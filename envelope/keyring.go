package envelope

import (
	"context"
	"io"

	"github.com/ronghe/ronghe"
)

// Keyring finds a KEK by the ID an envelope header names, so that envelopes
// sealed under earlier KEKs stay readable after the current one is rotated.
type Keyring interface {
	// Lookup returns the KEK with the given ID, or an error if there is none.
	Lookup(ctx context.Context, id string) (KEK, error)
}

// StaticKeyring is a Keyring over a fixed set of KEKs, typically the current
// KEK and the ones it replaced. It is safe for concurrent use.
type StaticKeyring struct {
	keks map[string]KEK
}

// NewKeyring returns a Keyring holding keks, which must have distinct IDs.
func NewKeyring(keks ...KEK) (*StaticKeyring, error) {
	m := make(map[string]KEK, len(keks))
	for _, k := range keks {
		if k == nil {
			return nil, ronghe.Errorf(ronghe.EINVALID, "nil KEK in keyring")
		}
		if _, dup := m[k.ID()]; dup {
			return nil, ronghe.Errorf(ronghe.EINVALID, "two KEKs in keyring with ID %q", k.ID())
		}
		m[k.ID()] = k
	}
	return &StaticKeyring{keks: m}, nil
}

// Lookup returns the KEK with the given ID; an unknown ID is an
// ronghe.EINTEGRITY error, since the header naming it is then either altered
// or from a deployment whose KEK is not configured here.
func (r *StaticKeyring) Lookup(_ context.Context, id string) (KEK, error) {
	if k, ok := r.keks[id]; ok {
		return k, nil
	}
	return nil, ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob was sealed under KEK %q, which is not configured", id)
}

// singleKEK is the Keyring of NewReader: one KEK.
type singleKEK struct{ kek KEK }

// Lookup implements Keyring, accepting only the one KEK's ID.
func (s singleKEK) Lookup(_ context.Context, id string) (KEK, error) {
	if id != s.kek.ID() {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "encrypted blob was sealed under KEK %q, not %q", id, s.kek.ID())
	}
	return s.kek, nil
}

// NewKeyringReader is NewReader for a stream whose KEK is looked up in ring
// by the ID in its header.
func NewKeyringReader(ctx context.Context, src io.Reader, ring Keyring, opts ...Option) (io.Reader, error) {
	if ring == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no keyring given")
	}
	return newReader(ctx, src, ring, opts...)
}

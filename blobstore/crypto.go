package blobstore

import (
	"context"
	"io"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

// errNoKEK is returned by Put and Get of a store opened without WithKEK.
var errNoKEK = ronghe.Errorf(ronghe.EINTERNAL, "the blob store has no key-encryption key")

// Put encrypts everything read from r under a fresh data key of suite s (the
// owner's suite: SM4-GCM for GM, AES-256-GCM for INTL), wraps the key with the
// store's KEK and stores the envelope under key. It returns the number of
// plaintext bytes read. Memory stays at a few envelope chunks whatever the
// size of r. The blob is visible only once Put returns nil; a failed Put
// leaves nothing behind. A key that is already used is a ronghe.ECONFLICT
// error.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, st ronghe.Suite) (int64, error) {
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	if err := suite.Check(st); err != nil {
		return 0, err
	}
	if s.kek == nil {
		return 0, errNoKEK
	}
	var plain int64
	_, err := s.write(ctx, key, func(w io.Writer) (int64, error) {
		ew, err := envelope.NewWriter(ctx, w, s.kek, st)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(ew, r)
		plain = n
		if err != nil {
			ew.Close()
			return n, err
		}
		return n, ew.Close()
	})
	return plain, err
}

// Get returns the decrypted contents of the blob under key. Every chunk is
// authenticated before its bytes are returned, and a blob that was altered or
// truncated makes Read fail with a ronghe.EINTEGRITY error; callers must not
// act on the plaintext as a whole before Read returns io.EOF. The caller must
// close the reader. A missing blob is a ronghe.ENOTFOUND error.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if s.kek == nil {
		return nil, errNoKEK
	}
	raw, err := s.OpenRaw(ctx, key)
	if err != nil {
		return nil, err
	}
	r, err := envelope.NewReader(ctx, raw, s.kek)
	if err != nil {
		raw.Close()
		return nil, err
	}
	return &readCloser{Reader: r, Closer: raw}, nil
}

// readCloser pairs the decrypting reader with the raw object it reads.
type readCloser struct {
	io.Reader
	io.Closer
}

// WriteTo lets io.Copy use the envelope reader's WriteTo, which avoids an
// intermediate buffer.
func (rc *readCloser) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, rc.Reader)
}

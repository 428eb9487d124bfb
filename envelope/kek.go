package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"unicode"
	"unicode/utf8"

	"github.com/ronghe/ronghe"
)

// KEK wraps and unwraps data keys. Production puts a KMS/HSM behind it; the
// embedded default is LocalKEK. Implementations must be safe for concurrent
// use, and Unwrap must fail (rather than return a wrong key) for anything Wrap
// of the same KEK did not produce.
type KEK interface {
	// ID names the key-encryption key; it is written in every envelope header
	// so a reader knows which KEK to ask. It must be 1 to 255 bytes.
	ID() string
	// Wrap encrypts a data key.
	Wrap(ctx context.Context, dek []byte) ([]byte, error)
	// Unwrap decrypts a data key wrapped by Wrap.
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
}

// LocalKEKSize is the length of a LocalKEK master key: an AES-256 key.
const LocalKEKSize = 32

// MaxKEKIDLen is the longest KEK ID an envelope header can hold.
const MaxKEKIDLen = 255

const (
	localWrapVersion = 0x01
	localNonceSize   = 12
	// localWrapAD prefixes the KEK ID in the associated data of every wrap,
	// so a wrapped key cannot be passed off as another KEK's.
	localWrapAD = "ronghe/envelope/local-kek/v1\x00"
	// localIDContext derives the ID of a key file's KEK from its key.
	localIDContext = "ronghe/envelope/local-kek-id/v1\x00"
)

// LocalKEK is a key-encryption key held in process memory: it wraps each data
// key with AES-256-GCM under a 32-byte master key, authenticating the KEK ID.
// Its wrapped form is version (1 byte) || nonce (12) || ciphertext || tag (16).
// It suits a single-node deployment whose master key file lives apart from the
// blob store; deployments with a KMS or HSM implement KEK on that instead.
type LocalKEK struct {
	id   string
	aead cipher.AEAD
	ad   []byte
}

// NewLocalKEK returns a LocalKEK with the given ID and 32-byte master key. The
// ID must be 1 to 255 bytes of printable UTF-8. The key is copied.
func NewLocalKEK(id string, key []byte) (*LocalKEK, error) {
	if err := checkKEKID(id); err != nil {
		return nil, err
	}
	if len(key) != LocalKEKSize {
		return nil, ronghe.Errorf(ronghe.EINVALID, "local KEK master key must be %d bytes, not %d", LocalKEKSize, len(key))
	}
	block, err := aes.NewCipher(key) // expands the key into its own schedule
	if err != nil {
		return nil, fmt.Errorf("envelope: local KEK: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("envelope: local KEK: %w", err)
	}
	return &LocalKEK{id: id, aead: aead, ad: append([]byte(localWrapAD), id...)}, nil
}

func checkKEKID(id string) error {
	if len(id) == 0 || len(id) > MaxKEKIDLen {
		return ronghe.Errorf(ronghe.EINVALID, "KEK ID must be 1 to %d bytes, not %d", MaxKEKIDLen, len(id))
	}
	if !utf8.ValidString(id) {
		return ronghe.Errorf(ronghe.EINVALID, "KEK ID is not valid UTF-8")
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return ronghe.Errorf(ronghe.EINVALID, "KEK ID %q contains a non-printable character", id)
		}
	}
	return nil
}

// ID returns the KEK's name.
func (k *LocalKEK) ID() string { return k.id }

// Wrap encrypts dek under the master key with a fresh random nonce.
func (k *LocalKEK) Wrap(ctx context.Context, dek []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(dek) == 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "wrap an empty data key")
	}
	out := make([]byte, 1+localNonceSize, 1+localNonceSize+len(dek)+k.aead.Overhead())
	out[0] = localWrapVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("envelope: local KEK nonce: %w", err)
	}
	return k.aead.Seal(out, out[1:1+localNonceSize], dek, k.ad), nil
}

// Unwrap decrypts a key wrapped by Wrap of a LocalKEK with the same ID and
// master key. Anything else is an ronghe.EINTEGRITY error.
func (k *LocalKEK) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(wrapped) < 1+localNonceSize+k.aead.Overhead()+1 {
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "wrapped data key is too short (%d bytes)", len(wrapped))
	}
	if wrapped[0] != localWrapVersion {
		// Only this code writes the format, so another version is corruption.
		return nil, ronghe.Errorf(ronghe.EINTEGRITY, "wrapped data key has unknown format version %d", wrapped[0])
	}
	nonce, ct := wrapped[1:1+localNonceSize], wrapped[1+localNonceSize:]
	dek, err := k.aead.Open(nil, nonce, ct, k.ad)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINTEGRITY, err, fmt.Sprintf("data key does not unwrap under KEK %q", k.id))
	}
	return dek, nil
}

// LoadOrCreateLocalKEK returns the LocalKEK whose master key is stored at
// path, creating the file with a new random key (mode 0600, parent directory
// 0700 if missing) when it does not exist. The file holds the key as 64
// lowercase hex digits and a newline; it must not be readable by group or
// others. The KEK ID is derived from the key ("local-" and 16 hex digits of a
// SHA-256 over it), so it is stable across restarts and distinct per key.
// Concurrent callers on the same path all end up with the same key.
func LoadOrCreateLocalKEK(path string) (*LocalKEK, error) {
	for range 3 {
		k, err := loadLocalKEK(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return k, err
		}
		err = createLocalKEKFile(path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// Created, or another process won the race: load what is there now.
	}
	return nil, ronghe.Errorf(ronghe.EINTERNAL, "local KEK file %s keeps disappearing", path)
}

func loadLocalKEK(path string) (*LocalKEK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("envelope: stat KEK file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, ronghe.Errorf(ronghe.EINVALID, "local KEK file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "local KEK file %s has mode %v; it must not be accessible to group or others (chmod 600)", path, st.Mode().Perm())
	}
	buf, err := io.ReadAll(io.LimitReader(f, 4*LocalKEKSize))
	if err != nil {
		return nil, fmt.Errorf("envelope: read KEK file: %w", err)
	}
	defer clear(buf)
	text := bytes.TrimRight(buf, "\r\n")
	key := make([]byte, LocalKEKSize)
	defer clear(key)
	if len(text) != 2*LocalKEKSize {
		return nil, ronghe.Errorf(ronghe.EINVALID, "local KEK file %s must hold %d hex digits", path, 2*LocalKEKSize)
	}
	if _, err := hex.Decode(key, text); err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, fmt.Sprintf("local KEK file %s is not hex", path))
	}
	return NewLocalKEK(localKEKID(key), key)
}

// localKEKID derives a public, stable name from a master key.
func localKEKID(key []byte) string {
	h := sha256.New()
	h.Write([]byte(localIDContext))
	h.Write(key)
	return "local-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// createLocalKEKFile writes a new key to a temporary file and links it into
// place, which fails with fs.ErrExist rather than overwrite a key another
// process created meanwhile.
func createLocalKEKFile(path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("envelope: create KEK directory: %w", err)
	}
	var key [LocalKEKSize]byte
	defer clear(key[:])
	if _, err := rand.Read(key[:]); err != nil {
		return fmt.Errorf("envelope: generate KEK: %w", err)
	}
	text := make([]byte, 2*LocalKEKSize+1)
	defer clear(text)
	hex.Encode(text, key[:])
	text[len(text)-1] = '\n'

	tmp, err := os.CreateTemp(dir, ".kek-*.tmp")
	if err != nil {
		return fmt.Errorf("envelope: create KEK file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("envelope: chmod KEK file: %w", err)
	}
	if _, err := tmp.Write(text); err != nil {
		tmp.Close()
		return fmt.Errorf("envelope: write KEK file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("envelope: sync KEK file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("envelope: close KEK file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("envelope: install KEK file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: persist the new directory entry
		d.Close()
	}
	return nil
}

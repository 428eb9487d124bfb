package blobstore

import (
	"strings"

	"github.com/ronghe/ronghe"
)

// MaxKeyLen is the longest key a Store accepts, in bytes. It keeps keys well
// under the limits of S3 (1024 bytes) and of file names on common file systems.
const MaxKeyLen = 512

// ValidateKey reports whether key may name a blob, returning a ronghe.EINVALID
// error if not. Keys are restricted so that the same key means the same object
// on every backend and can never escape a file:// bucket's directory:
//
//   - 1 to MaxKeyLen bytes of ASCII letters, digits and the characters "._-/";
//   - "/" separates non-empty segments: no leading or trailing "/", no "//";
//   - no segment starts with "." (this rules out "." and "..", and keeps the
//     names of the store's own temporary files out of the key space);
//   - no key ends in ".attrs" or ".tmp", the suffixes fileblob reserves for its
//     sidecar and temporary files.
func ValidateKey(key string) error {
	if key == "" {
		return ronghe.Errorf(ronghe.EINVALID, "blob key is empty")
	}
	if len(key) > MaxKeyLen {
		return ronghe.Errorf(ronghe.EINVALID, "blob key is longer than %d bytes", MaxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-', c == '/':
		default:
			return ronghe.Errorf(ronghe.EINVALID, "blob key %q contains the character %q; only letters, digits and ._-/ are allowed", key, c)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" {
			return ronghe.Errorf(ronghe.EINVALID, "blob key %q has an empty segment (leading, trailing or double slash)", key)
		}
		if seg[0] == '.' {
			return ronghe.Errorf(ronghe.EINVALID, "blob key %q has a segment starting with a dot", key)
		}
	}
	if strings.HasSuffix(key, ".attrs") || strings.HasSuffix(key, ".tmp") {
		return ronghe.Errorf(ronghe.EINVALID, "blob key %q ends in a reserved suffix (.attrs or .tmp)", key)
	}
	return nil
}

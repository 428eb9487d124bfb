package blobstore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"tenant/91310000/2025/batch-01.rrs1.bin", true},
		{"A_b-c.d/e", true},
		{strings.Repeat("k", MaxKeyLen), true},
		{strings.Repeat("k", MaxKeyLen+1), false},
		{"", false},
		{"/leading", false},
		{"trailing/", false},
		{"double//slash", false},
		{".", false},
		{"..", false},
		{"a/../b", false},
		{"a/./b", false},
		{"../up", false},
		{".hidden", false},
		{"dir/.hidden", false},
		{"back\\slash", false},
		{"space here", false},
		{"nul\x00", false},
		{"ümlaut", false},
		{"query?x", false},
		{"x.attrs", false},
		{"x.123.tmp", false},
		{"x.attrs/y", true},
	}
	for _, tt := range tests {
		err := ValidateKey(tt.key)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
		if err != nil && ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("ValidateKey(%q) code %q", tt.key, ronghe.ErrorCode(err))
		}
	}
}

// FuzzValidateKey checks that every accepted key stays inside the bucket
// directory and maps to itself as a path, whatever the input.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a//b", ".x", "x/", "a/b/c.bin", "a/..b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		root := "/srv/blobs"
		p := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(p, root+"/") {
			t.Fatalf("key %q escapes to %q", key, p)
		}
		if filepath.ToSlash(p[len(root)+1:]) != key {
			t.Fatalf("key %q is not its own path (%q)", key, p)
		}
	})
}

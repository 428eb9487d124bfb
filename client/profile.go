// Package client is how an institution talks to Ronghe: it builds and signs
// manifests, uploads files over tus with resumption, fetches and acknowledges
// mailbox messages, and verifies everything the platform returns against the
// platform's pinned keys — it trusts the server for nothing it can check.
package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// Profile is an institution's credentials and settings, kept in one
// directory: profile.json, ca.pem, cert.pem, key.pem (TLS) and signing-key.pem
// (the registered signing key), plus platform.json, the platform's public keys
// pinned at onboarding.
type Profile struct {
	// Server is the platform's base URL, e.g. https://127.0.0.1:8443.
	Server string `json:"server"`
	// Institution is the institution code.
	Institution string `json:"institution"`
	// Suite is the institution's cryptographic suite.
	Suite ronghe.Suite `json:"suite"`

	CAPEM   []byte               `json:"-"`
	CertPEM []byte               `json:"-"`
	KeyPEM  []byte               `json:"-"`
	Signer  suite.Signer         `json:"-"`
	Pinned  *ronghe.PlatformInfo `json:"-"`
}

// Profile file names inside a profile directory.
const (
	ProfileFile  = "profile.json"
	CAFile       = "ca.pem"
	CertFile     = "cert.pem"
	KeyFile      = "key.pem"
	SigningFile  = "signing-key.pem"
	PlatformFile = "platform.json"
)

// LoadProfile reads a profile directory.
func LoadProfile(dir string) (*Profile, error) {
	var p Profile
	b, err := os.ReadFile(filepath.Join(dir, ProfileFile))
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "cannot read profile "+dir+": "+err.Error())
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed "+ProfileFile)
	}
	read := func(name string, dst *[]byte) error {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return ronghe.WrapError(ronghe.EINVALID, err, "profile "+dir+" lacks "+name)
		}
		*dst = b
		return nil
	}
	for name, dst := range map[string]*[]byte{CAFile: &p.CAPEM, CertFile: &p.CertPEM, KeyFile: &p.KeyPEM} {
		if err := read(name, dst); err != nil {
			return nil, err
		}
	}
	var signing []byte
	if err := read(SigningFile, &signing); err != nil {
		return nil, err
	}
	if p.Signer, err = suite.ParsePrivateKeyPEM(signing); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, PlatformFile)); err == nil {
		var info ronghe.PlatformInfo
		if err := json.Unmarshal(b, &info); err != nil {
			return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed "+PlatformFile)
		}
		p.Pinned = &info
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &p, nil
}

// Save writes the profile into dir (created 0700; keys 0600).
func (p *Profile) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	signing, err := suite.MarshalPrivateKeyPEM(p.Signer)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{ProfileFile, b, 0o644}, {CAFile, p.CAPEM, 0o644}, {CertFile, p.CertPEM, 0o644},
		{KeyFile, p.KeyPEM, 0o600}, {SigningFile, signing, 0o600},
	}
	if p.Pinned != nil {
		pb, _ := json.MarshalIndent(p.Pinned, "", "  ")
		files = append(files, struct {
			name string
			data []byte
			mode os.FileMode
		}{PlatformFile, pb, 0o644})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("client: %w", err)
		}
	}
	return nil
}

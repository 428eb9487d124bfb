package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/sm2"
	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/suite"
	"github.com/ronghe/ronghe/tlog"
)

// platformKeys are the platform's own signing keys and CA, kept under
// <data>/keys and <data>/pki. The key-encryption key is apart from them
// (see kekPath).
type platformKeys struct {
	ed25519 suite.Signer
	sm2     suite.Signer
	ca      *pki.CA
	origin  string
}

// loadOrCreateSigner reads a PKCS#8 key file or creates it (mode 0600).
func loadOrCreateSigner(path string, s ronghe.Suite) (suite.Signer, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return suite.ParsePrivateKeyPEM(b)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	signer, err := suite.GenerateKey(s)
	if err != nil {
		return nil, err
	}
	pemBytes, err := suite.MarshalPrivateKeyPEM(signer)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// Exclusive creation: when two processes start on a fresh data
	// directory, one key wins and the other process reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateSigner(path, s)
	} else if err != nil {
		return nil, err
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return signer, f.Close()
}

func loadPlatformKeys(dataDir, origin string) (*platformKeys, error) {
	ed, err := loadOrCreateSigner(filepath.Join(dataDir, "keys", "platform-ed25519.pem"), ronghe.SuiteINTL)
	if err != nil {
		return nil, fmt.Errorf("platform Ed25519 key: %w", err)
	}
	sm, err := loadOrCreateSigner(filepath.Join(dataDir, "keys", "platform-sm2.pem"), ronghe.SuiteGM)
	if err != nil {
		return nil, fmt.Errorf("platform SM2 key: %w", err)
	}
	ca, err := pki.LoadOrCreateCA(filepath.Join(dataDir, "pki"), "Ronghe Platform CA")
	if err != nil {
		return nil, err
	}
	return &platformKeys{ed25519: ed, sm2: sm, ca: ca, origin: origin}, nil
}

func (k *platformKeys) edPrivate() ed25519.PrivateKey {
	return k.ed25519.CryptoSigner().(ed25519.PrivateKey)
}

func (k *platformKeys) smPrivate() *sm2.PrivateKey {
	return k.sm2.CryptoSigner().(*sm2.PrivateKey)
}

// info is the platform's public identity as parties pin it.
func (k *platformKeys) info() (*ronghe.PlatformInfo, error) {
	edPEM, err := k.ed25519.PublicKey().MarshalPEM()
	if err != nil {
		return nil, err
	}
	smPEM, err := k.sm2.PublicKey().MarshalPEM()
	if err != nil {
		return nil, err
	}
	edV, smV, err := tlog.VerifierKeys(k.origin, k.edPrivate().Public().(ed25519.PublicKey), &k.smPrivate().PublicKey)
	if err != nil {
		return nil, err
	}
	return &ronghe.PlatformInfo{
		LogOrigin:    k.origin,
		SigningKeys:  []string{string(edPEM), string(smPEM)},
		LogVerifiers: []string{edV, smV},
		CAPEM:        string(k.ca.CertPEM()),
	}, nil
}

func (k *platformKeys) signers() []suite.Signer { return []suite.Signer{k.ed25519, k.sm2} }

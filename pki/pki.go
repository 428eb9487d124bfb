// Package pki is the platform's own certificate authority: it issues the
// server certificate for TLS 1.3 and the client certificates that institutions
// present for mutual TLS, and it maps a verified client certificate back to the
// institution it was issued to.
//
// Certificates use ECDSA P-256 so that every TLS stack (Go, OpenSSL, Java,
// .NET, curl) can use them; the GM and INTL suites govern signatures on data,
// not the transport.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// institutionURIPrefix starts the URI SAN that names the institution a client
// certificate belongs to; the SAN, not the common name, is authoritative.
const institutionURIPrefix = "urn:ronghe:institution:"

// enterpriseURIPrefix starts the URI SAN of an enterprise's client
// certificate: enterprises reach their own authorizations and query records.
const enterpriseURIPrefix = "urn:ronghe:enterprise:"

// CA is the platform's certificate authority.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
	now  func() time.Time
}

// LoadOrCreateCA reads ca.pem and ca-key.pem from dir, creating a new CA with
// a ten-year certificate when they do not exist. The key file is mode 0600.
func LoadOrCreateCA(dir, name string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		ca, keyPEM, err := newCA(name, time.Now)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		if err := os.WriteFile(certPath, ca.pem, 0o644); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		return ca, nil
	} else if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, pem: certPEM, now: time.Now}, nil
}

func newCA(name string, now func() time.Time) (*CA, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	t := now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Ronghe"}},
		NotBefore:             t.Add(-time.Hour),
		NotAfter:              t.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return &CA{cert: cert, key: key, pem: certPEM, now: now}, keyPEM, nil
}

// CertPEM returns the CA certificate, which clients pin as their only root.
func (ca *CA) CertPEM() []byte { return ca.pem }

// Pool returns a certificate pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Issued is a freshly issued certificate with its private key.
type Issued struct {
	// Certificate is the issued certificate's record for the store.
	Certificate ronghe.Certificate
	// CertPEM and KeyPEM are what the holder installs.
	CertPEM []byte
	KeyPEM  []byte
}

// IssueServer issues a TLS server certificate for the given host names and IP
// addresses, valid for validity.
func (ca *CA) IssueServer(hosts []string, validity time.Duration) (*Issued, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0], Organization: []string{"Ronghe"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl, hosts[0], validity)
}

// IssueClient issues a client certificate for mutual TLS to the institution
// with the given code, valid for validity.
func (ca *CA) IssueClient(code, name string, validity time.Duration) (*Issued, error) {
	u, err := url.Parse(institutionURIPrefix + code)
	if err != nil || code == "" || strings.ContainsAny(code, ":/ ") {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid institution code %q for a certificate", code)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: code, Organization: []string{name}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{u},
	}
	return ca.issue(tmpl, code, validity)
}

func (ca *CA) issue(tmpl *x509.Certificate, owner string, validity time.Duration) (*Issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	t := ca.now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = t.Add(-5 * time.Minute)
	tmpl.NotAfter = t.Add(validity)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return &Issued{
		Certificate: ronghe.Certificate{
			Serial:    SerialHex(serial),
			Owner:     owner,
			NotBefore: tmpl.NotBefore.UTC(),
			NotAfter:  tmpl.NotAfter.UTC(),
			PEM:       string(certPEM),
		},
		CertPEM: certPEM,
		KeyPEM:  keyPEM,
	}, nil
}

// IssueEnterprise issues a client certificate to the enterprise with the
// given USCC, valid for validity.
func (ca *CA) IssueEnterprise(uscc, name string, validity time.Duration) (*Issued, error) {
	u, err := url.Parse(enterpriseURIPrefix + uscc)
	if err != nil || uscc == "" || strings.ContainsAny(uscc, ":/ ") {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid USCC %q for a certificate", uscc)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: uscc, Organization: []string{name}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{u},
	}
	return ca.issue(tmpl, uscc, validity)
}

// EnterpriseOf returns the USCC a verified client certificate was issued to.
func EnterpriseOf(cert *x509.Certificate) (string, error) {
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, enterpriseURIPrefix) {
			return strings.TrimPrefix(s, enterpriseURIPrefix), nil
		}
	}
	return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "client certificate names no enterprise")
}

// InstitutionOf returns the institution code a verified client certificate
// was issued to, from its URI SAN.
func InstitutionOf(cert *x509.Certificate) (string, error) {
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, institutionURIPrefix) {
			return strings.TrimPrefix(s, institutionURIPrefix), nil
		}
	}
	return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "client certificate names no institution")
}

// SerialHex formats a certificate serial number as the store keeps it.
func SerialHex(n *big.Int) string { return hex.EncodeToString(n.Bytes()) }

// ServerTLS returns a TLS 1.3 server configuration presenting the given
// certificate and asking for (but not requiring) a client certificate from
// this CA: public endpoints (log tiles, schemas, OpenAPI) need none, and the
// HTTP layer refuses tenant endpoints without one.
func (ca *CA) ServerTLS(certPEM, keyPEM []byte) (*tls.Config, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: server key pair: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.Pool(),
	}, nil
}

// ClientTLS returns a TLS 1.3 client configuration that trusts only the CA in
// caPEM and presents the given client certificate, if any.
func ClientTLS(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no CA certificate in the given PEM")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}
	if len(certPEM) > 0 {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, ronghe.WrapError(ronghe.EINVALID, err, "client certificate and key do not form a pair")
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// ParseCertificatePEM parses the first certificate in b.
func ParseCertificatePEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed certificate")
	}
	return cert, nil
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func marshalKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseKeyPEM(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "no PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed private key")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, ronghe.Errorf(ronghe.EINVALID, "private key cannot sign")
	}
	return s, nil
}

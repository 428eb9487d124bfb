package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
)

// certSource holds this node's certificate and issues a fresh one from the
// platform CA when two thirds of its validity have passed, so a long-running
// node never presents an expired certificate and a stolen one expires soon.
// The certificate lives in memory only.
type certSource struct {
	ca       *pki.CA
	id       string
	validity time.Duration
	now      func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	renewAt time.Time
}

func (s *certSource) get() (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil && s.now().Before(s.renewAt) {
		return s.cert, nil
	}
	is, err := s.ca.IssueNode(s.id, s.validity)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster: node certificate: %w", err)
	}
	s.cert = &pair
	s.renewAt = s.now().Add(s.validity * 2 / 3)
	return s.cert, nil
}

// serverTLS is the internal endpoint's TLS configuration: TLS 1.3, this
// node's certificate, and a client certificate that the platform CA issued to
// a node is required — institution certificates (no node name, client use
// only) and the public server certificate fail the handshake.
func serverTLS(ca *pki.CA, certs *certSource) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.get() },
		ClientAuth:     tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := ca.VerifyNode(cs.PeerCertificates, x509.ExtKeyUsageClientAuth)
			return err
		},
	}
}

// errWrongPeer is the handshake error when the server is not the node the
// registry names (a stale address now used by another process, or a
// certificate the platform CA did not issue to a node).
type errWrongPeer struct{ want, got string }

func (e *errWrongPeer) Error() string {
	return fmt.Sprintf("cluster: the log leader should be node %q, the peer is %q", e.want, e.got)
}

// clientTLS is the configuration for calls to the node want: TLS 1.3, this
// node's certificate, and a server that presents a node certificate of the
// platform CA naming want.
func clientTLS(ca *pki.CA, certs *certSource, want string) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return certs.get() },
		// Nodes are named by their certificate's URI SAN, not by host name:
		// the standard host-name check is replaced by VerifyConnection, which
		// verifies the chain to the platform CA for server use and the name.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := ca.VerifyNode(cs.PeerCertificates, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			if id != want {
				return ronghe.WrapError(ronghe.EUNAUTHORIZED, &errWrongPeer{want: want, got: id}, "the peer is not the log leader")
			}
			return nil
		},
	}
}

package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// nodeURIPrefix starts the URI SAN that names a platform node: one `ronghe
// serve` process of a scaled-out deployment. Node certificates authenticate
// the processes to each other on their internal endpoint; they never name an
// institution, so they open none of the tenant endpoints, and institution
// certificates never name a node, so they open no internal endpoint.
const nodeURIPrefix = "urn:ronghe:node:"

// validNodeID is what a node ID may look like: it travels in a URI SAN and in
// logs, so it is kept to a safe alphabet.
var validNodeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidNodeID reports whether id can name a node.
func ValidNodeID(id string) bool { return validNodeID.MatchString(id) }

// IssueNode issues a certificate for the platform node id, valid for
// validity, usable both as a TLS server certificate (the node's internal
// endpoint) and as a client certificate (calls to other nodes). The node is
// named by the URI SAN urn:ronghe:node:<id>; it carries no host names, so
// peers authenticate it by that name (NodeOf), not by its address.
func (ca *CA) IssueNode(id string, validity time.Duration) (*Issued, error) {
	if !ValidNodeID(id) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid node ID %q: 1-63 characters A-Z a-z 0-9 . _ -, starting with a letter or digit", id)
	}
	u, err := url.Parse(nodeURIPrefix + id)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "invalid node ID "+id)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "node " + id, Organization: []string{"Ronghe"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{u},
	}
	return ca.issue(tmpl, "node:"+id, validity)
}

// NodeOf returns the node ID a verified certificate was issued to, from its
// URI SAN, or EUNAUTHORIZED when the certificate names no node (an
// institution's or the public server's certificate).
func NodeOf(cert *x509.Certificate) (string, error) {
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, nodeURIPrefix) {
			if id := strings.TrimPrefix(s, nodeURIPrefix); ValidNodeID(id) {
				return id, nil
			}
		}
	}
	return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "certificate names no platform node")
}

// VerifyNode checks a certificate chain presented by a peer node against
// this CA for the given extended key usage (x509.ExtKeyUsageServerAuth when
// the peer is the server, ExtKeyUsageClientAuth when it is the client) and
// returns the node ID it names. chain[0] is the peer's certificate; the rest
// are intermediates (none, today).
func (ca *CA) VerifyNode(chain []*x509.Certificate, usage x509.ExtKeyUsage) (string, error) {
	if len(chain) == 0 {
		return "", ronghe.Errorf(ronghe.EUNAUTHORIZED, "no certificate presented")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{
		Roots: ca.Pool(), Intermediates: inter, CurrentTime: ca.now(), KeyUsages: []x509.ExtKeyUsage{usage},
	}); err != nil {
		return "", ronghe.WrapError(ronghe.EUNAUTHORIZED, err, "certificate is not one the platform CA issued for this use")
	}
	return NodeOf(chain[0])
}

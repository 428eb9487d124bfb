package pki

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
)

func TestNodeCertificates(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), "Ronghe test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadOrCreateCA(t.TempDir(), "Another CA")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(is *Issued) *x509.Certificate {
		t.Helper()
		c, err := ParseCertificatePEM(is.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	node, err := ca.IssueNode("node-a.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nc := parse(node)
	if id, err := NodeOf(nc); err != nil || id != "node-a.1" {
		t.Fatalf("NodeOf(node cert) = %q, %v", id, err)
	}
	// A node certificate is no institution's: it opens no tenant endpoint.
	if code, err := InstitutionOf(nc); err == nil {
		t.Fatalf("InstitutionOf(node cert) = %q, want an error", code)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if id, err := ca.VerifyNode([]*x509.Certificate{nc}, usage); err != nil || id != "node-a.1" {
			t.Fatalf("VerifyNode(node cert, %v) = %q, %v", usage, id, err)
		}
	}

	inst, err := ca.IssueClient("B0001H13501001", "Bank", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.IssueServer([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.IssueNode("node-a.1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cert  *x509.Certificate
		usage x509.ExtKeyUsage
	}{
		"institution certificate as client": {parse(inst), x509.ExtKeyUsageClientAuth},
		"institution certificate as server": {parse(inst), x509.ExtKeyUsageServerAuth},
		"public server certificate":         {parse(srv), x509.ExtKeyUsageServerAuth},
		"node certificate of another CA":    {parse(foreign), x509.ExtKeyUsageClientAuth},
	} {
		if id, err := ca.VerifyNode([]*x509.Certificate{tc.cert}, tc.usage); ronghe.ErrorCode(err) != ronghe.EUNAUTHORIZED {
			t.Errorf("%s: VerifyNode = %q, %v; want EUNAUTHORIZED", name, id, err)
		}
	}
	if _, err := ca.VerifyNode(nil, x509.ExtKeyUsageClientAuth); ronghe.ErrorCode(err) != ronghe.EUNAUTHORIZED {
		t.Errorf("VerifyNode(no chain) = %v", err)
	}

	for _, bad := range []string{"", "-a", "a b", "a/b", "a:b", "é", string(make([]byte, 64))} {
		if _, err := ca.IssueNode(bad, time.Hour); ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("IssueNode(%q) = %v, want EINVALID", bad, err)
		}
	}
}

package pki

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "Ronghe test CA")
	if err != nil {
		t.Fatal(err)
	}
	// Reloading returns the same CA.
	again, err := LoadOrCreateCA(dir, "ignored")
	if err != nil || string(again.CertPEM()) != string(ca.CertPEM()) {
		t.Fatalf("reload: %v", err)
	}
	srv, err := ca.IssueServer([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ServerTLS(srv.CertPEM, srv.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			io.WriteString(w, "anonymous")
			return
		}
		code, err := InstitutionOf(r.TLS.PeerCertificates[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, code)
	})
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = cfg
	ts.StartTLS()
	defer ts.Close()

	get := func(certPEM, keyPEM []byte) (string, error) {
		ccfg, err := ClientTLS(ca.CertPEM(), certPEM, keyPEM)
		if err != nil {
			return "", err
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: ccfg}}
		resp, err := c.Get(ts.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.TLS.Version != tls.VersionTLS13 {
			t.Errorf("TLS version %x, want 1.3", resp.TLS.Version)
		}
		return string(b), nil
	}
	cli, err := ca.IssueClient("B1000144000011", "测试银行", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get(cli.CertPEM, cli.KeyPEM); err != nil || got != "B1000144000011" {
		t.Fatalf("client cert: %q %v", got, err)
	}
	if got, err := get(nil, nil); err != nil || got != "anonymous" {
		t.Fatalf("no cert: %q %v", got, err)
	}
	// A certificate from another CA never authenticates: the client does not
	// offer it to a server that asks for this CA, or the server refuses it.
	other, _ := LoadOrCreateCA(t.TempDir(), "rogue")
	rogue, _ := other.IssueClient("B1000144000011", "rogue", time.Hour)
	if got, err := get(rogue.CertPEM, rogue.KeyPEM); err == nil && got != "anonymous" {
		t.Fatalf("certificate of another CA authenticated as %q", got)
	}
	// An expired certificate is refused at the handshake.
	ca.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old, _ := ca.IssueClient("B1000144000011", "测试银行", time.Hour)
	ca.now = time.Now
	if _, err := get(old.CertPEM, old.KeyPEM); err == nil {
		t.Fatal("expired certificate accepted")
	}
}

func TestIssueClientRejectsBadCode(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), "ca")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"", "a b", "x:y", "../x"} {
		if _, err := ca.IssueClient(code, "n", time.Hour); err == nil {
			t.Errorf("code %q accepted", code)
		}
	}
}

func TestEnterpriseCertificate(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), "ca")
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ca.IssueEnterprise("91350100M000100Y43", "某某贸易有限公司", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertificatePEM(iss.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := EnterpriseOf(cert); err != nil || u != "91350100M000100Y43" {
		t.Fatalf("EnterpriseOf = %q, %v", u, err)
	}
	// An enterprise certificate never passes as an institution's, nor the reverse.
	if _, err := InstitutionOf(cert); err == nil {
		t.Fatal("enterprise certificate accepted as an institution's")
	}
	inst, _ := ca.IssueClient("B1000144000011", "bank", time.Hour)
	ic, _ := ParseCertificatePEM(inst.CertPEM)
	if _, err := EnterpriseOf(ic); err == nil {
		t.Fatal("institution certificate accepted as an enterprise's")
	}
}

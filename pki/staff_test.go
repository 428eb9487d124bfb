package pki

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
)

func TestStaffCertificates(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir(), "Ronghe test CA")
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
	// The role and the staff mark are one DER SET, sorted on encoding:
	// roles sorting before and after "staff" both read back.
	for _, role := range []string{"admin", "analyst", "supervisor", "zz"} {
		is, err := ca.IssueStaff("bob", role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := StaffOf(parse(is)); err != nil || st.Role != role {
			t.Fatalf("StaffOf(role %s) = %+v, %v", role, st, err)
		}
	}
	alice, err := ca.IssueStaff("alice.wang", "analyst", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if alice.Certificate.Owner != "staff:alice.wang" {
		t.Fatalf("owner %q", alice.Certificate.Owner)
	}
	ac := parse(alice)
	if st, err := StaffOf(ac); err != nil || st != (Staff{Name: "alice.wang", Role: "analyst"}) {
		t.Fatalf("StaffOf(staff cert) = %+v, %v", st, err)
	}
	if _, err := ac.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("staff cert does not verify for client auth: %v", err)
	}
	// A staff certificate is nobody's party certificate, and the other way round.
	if IsPartyCertificate(ac) {
		t.Fatal("staff cert taken for a party's")
	}
	if code, err := InstitutionOf(ac); err == nil {
		t.Fatalf("InstitutionOf(staff cert) = %q", code)
	}
	if uscc, err := EnterpriseOf(ac); err == nil {
		t.Fatalf("EnterpriseOf(staff cert) = %q", uscc)
	}
	if id, err := NodeOf(ac); err == nil {
		t.Fatalf("NodeOf(staff cert) = %q", id)
	}
	bank, err := ca.IssueClient("B0001H24401010", "Bank", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := ca.IssueEnterprise("91440101MA59ABCDE1", "Enterprise", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	node, err := ca.IssueNode("n1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range []*Issued{bank, ent, node} {
		c := parse(is)
		if _, err := StaffOf(c); ronghe.ErrorCode(err) != ronghe.EUNAUTHORIZED {
			t.Fatalf("StaffOf(%s) = %v, want EUNAUTHORIZED", is.Certificate.Owner, err)
		}
		if !IsPartyCertificate(c) {
			t.Fatalf("%s is not a party certificate", is.Certificate.Owner)
		}
	}
	for _, bad := range [][2]string{{"", "analyst"}, {"张三", "analyst"}, {"a b", "analyst"}, {"a:b", "analyst"}, {"bob", ""}, {"bob", "Admin role"}, {"bob", "staff"}} {
		if _, err := ca.IssueStaff(bad[0], bad[1], time.Hour); ronghe.ErrorCode(err) != ronghe.EINVALID {
			t.Errorf("IssueStaff(%q, %q) = %v, want EINVALID", bad[0], bad[1], err)
		}
	}
}

package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
)

// staffEcho stands for the lake API: it answers with the staff member the
// server authenticated.
var staffEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	st, ok := StaffFrom(r.Context())
	if !ok {
		http.Error(w, "no staff", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
})

// withLake serves the env's API again with the lake routes and adds
// clients presenting staff certificates: "alice" (analyst), "root"
// (admin), "staff-revoked", "staff-unregistered"; and an enterprise's and
// a node's.
func withLake(t *testing.T, e *env) {
	t.Helper()
	cfg := e.srv.cfg
	type row struct{ N int }
	cfg.Lake = &Lake{Handler: staffEcho, Catalog: reflect.TypeFor[[]row](), Query: reflect.TypeFor[row](),
		Result: reflect.TypeFor[row](), Log: reflect.TypeFor[[]row]()}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.TLS = e.ts.TLS
	ts.StartTLS()
	t.Cleanup(ts.Close)
	e.srv, e.ts = srv, ts
	for _, s := range []struct {
		client, name, role string
		register, revoke   bool
	}{
		{"alice", "alice", "analyst", true, false},
		{"root", "root", "admin", true, false},
		{"staff-revoked", "carol", "admin", true, true},
		{"staff-unregistered", "dave", "admin", false, false},
		{"enterprise", "", "", true, false},
		{"node", "", "", false, false},
	} {
		var iss *pki.Issued
		var err error
		switch s.client {
		case "enterprise":
			iss, err = e.ca.IssueEnterprise("91440101MA59ABCDE1", "Enterprise", time.Hour)
		case "node":
			iss, err = e.ca.IssueNode("n1", time.Hour)
		default:
			iss, err = e.ca.IssueStaff(s.name, s.role, time.Hour)
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.register {
			c := iss.Certificate
			if s.revoke {
				at := time.Now().Add(-time.Minute)
				c.RevokedAt = &at
			}
			e.insts.mu.Lock()
			e.insts.certs[c.Serial] = &c
			e.insts.mu.Unlock()
		}
		cfg, err := pki.ClientTLS(e.ca.CertPEM(), iss.CertPEM, iss.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		t.Cleanup(tr.CloseIdleConnections)
		e.clients[s.client] = &http.Client{Transport: tr}
	}
}

func TestLakeRoutesStaffOnly(t *testing.T) {
	e := newEnv(t)
	withLake(t, e)
	for _, path := range []string{"/v1/lake/catalog", "/v1/lake/query-log"} {
		st, _, b := e.do("alice", "GET", path, nil, nil)
		var got pki.Staff
		if st != 200 || json.Unmarshal(b, &got) != nil || got != (pki.Staff{Name: "alice", Role: "analyst"}) {
			t.Fatalf("GET %s as alice: %d %s", path, st, b)
		}
	}
	// The role is the certificate's: a header or body claiming another is
	// not even looked at by the server.
	st, _, b := e.do("alice", "POST", "/v1/lake/sql", []byte(`{"sql":"SELECT 1","role":"admin"}`), map[string]string{"X-Role": "admin"})
	var got pki.Staff
	if st != 200 || json.Unmarshal(b, &got) != nil || got.Role != "analyst" {
		t.Fatalf("sql as alice: %d %s", st, b)
	}
	st, _, b = e.do("root", "GET", "/v1/lake/query-log", nil, nil)
	if st != 200 || json.Unmarshal(b, &got) != nil || got != (pki.Staff{Name: "root", Role: "admin"}) {
		t.Fatalf("query log as root: %d %s", st, b)
	}

	// The tenant wall: a bank's certificate, registered and valid, is
	// refused on every lake route; so is a missing, revoked or unknown one.
	for _, rt := range []struct{ method, path string }{{"GET", "/v1/lake/catalog"}, {"POST", "/v1/lake/sql"}, {"GET", "/v1/lake/query-log"}} {
		for client, want := range map[string]int{"A": 403, "B": 403, "enterprise": 403, "node": 403, "none": 401, "staff-revoked": 401, "staff-unregistered": 401, "revoked": 403} {
			st, h, b := e.do(client, rt.method, rt.path, []byte(`{"sql":"SELECT 1"}`), jsonHeader)
			code := ronghe.EFORBIDDEN
			if want == 401 {
				code = ronghe.EUNAUTHORIZED
			}
			e.problem(st, h, b, want, code)
		}
	}
	// And the other way round: a staff certificate opens no bank endpoint.
	st, h, b := e.do("alice", "GET", "/v1/mailbox", nil, nil)
	e.problem(st, h, b, http.StatusUnauthorized, ronghe.EUNAUTHORIZED)

	// Documented, with the staff security scheme.
	doc := loadDoc(t, e.srv)
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/lake/catalog", "/v1/lake/sql", "/v1/lake/query-log"} {
		item, _ := paths[p].(map[string]any)
		if item == nil {
			t.Fatalf("%s is not documented", p)
		}
		for _, op := range item {
			sec, _ := json.Marshal(op.(map[string]any)["security"])
			if string(sec) != `[{"staffTLS":[]}]` {
				t.Errorf("%s security %s", p, sec)
			}
		}
	}
}

func TestLakeRoutesOptional(t *testing.T) {
	e := newEnv(t)
	st, h, b := e.do("A", "GET", "/v1/lake/catalog", nil, nil)
	e.problem(st, h, b, http.StatusNotFound, ronghe.ENOTFOUND)
}

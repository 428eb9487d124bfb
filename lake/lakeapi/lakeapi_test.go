package lakeapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakesql"
	"github.com/ronghe/ronghe/lake/laketest"
	"github.com/ronghe/ronghe/rrs"
)

// testStaff authenticates by a test-only header naming a known person.
var testStaff = StaffFunc(func(r *http.Request) (Principal, error) {
	switch r.Header.Get("X-Test-Staff") {
	case "alice":
		return Principal{User: "alice", Role: "analyst"}, nil
	case "root":
		return Principal{User: "root", Role: "admin"}, nil
	case "bank":
		return Principal{User: "bank", Role: "institution"}, nil
	}
	return Principal{}, ronghe.Errorf(ronghe.EUNAUTHORIZED, "no staff identity")
})

func TestHandler(t *testing.T) {
	_, dirs := laketest.Region(t, 2)
	l := laketest.OpenSQLite(t)
	for _, d := range dirs {
		laketest.Ingest(t, l, d, lake.Lineage{})
	}
	eng, err := lakesql.New(context.Background(), l, lakesql.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { maxRows = n }(maxRows)
	maxRows = 5
	api := Handler(l, eng, testStaff, laketest.Quiet())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-1") // as the server in front does
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()
	do := func(method, path, who, body string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if who != "" {
			req.Header.Set("X-Test-Staff", who)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	problemCode := func(b []byte) string {
		var p problem
		json.Unmarshal(b, &p)
		if p.RequestID != "req-1" {
			return "no request_id in " + string(b)
		}
		return p.Code
	}

	tests := []struct {
		name, method, path, who, body string
		status                        int
		code                          string
	}{
		{"catalog needs staff", "GET", "/v1/lake/catalog", "", "", 401, ronghe.EUNAUTHORIZED},
		{"catalog", "GET", "/v1/lake/catalog", "alice", "", 200, ""},
		{"a non-staff role", "GET", "/v1/lake/catalog", "bank", "", 403, ronghe.EFORBIDDEN},
		{"query", "POST", "/v1/lake/sql", "alice", `{"sql":"SELECT count(*) AS n, max(acct_no) AS a FROM txn"}`, 200, ""},
		{"rows capped", "POST", "/v1/lake/sql", "alice", `{"sql":"SELECT acct_no FROM txn","max_rows":1000000}`, 200, ""},
		{"role in the body is not believed", "POST", "/v1/lake/sql", "alice", `{"sql":"SELECT 1","role":"admin"}`, 400, ronghe.EINVALID},
		{"refused statement", "POST", "/v1/lake/sql", "alice", `{"sql":"DROP VIEW txn"}`, 403, ronghe.EFORBIDDEN},
		{"malformed body", "POST", "/v1/lake/sql", "alice", `{"sql":`, 400, ronghe.EINVALID},
		{"query log for analysts", "GET", "/v1/lake/query-log", "alice", "", 403, ronghe.EFORBIDDEN},
		{"query log", "GET", "/v1/lake/query-log", "root", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(tt.method, tt.path, tt.who, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" {
				if got := problemCode(body); got != tt.code || resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("problem code %q (%s), want %q", got, resp.Header.Get("Content-Type"), tt.code)
				}
			}
			switch tt.name {
			case "catalog":
				var infos []lake.TableInfo
				if err := json.Unmarshal(body, &infos); err != nil || len(infos) != len(rrs.Current().Types) {
					t.Fatalf("catalog: %v, %d tables", err, len(infos))
				}
			case "query":
				var res lakesql.Result
				if err := json.Unmarshal(body, &res); err != nil {
					t.Fatal(err)
				}
				var want int
				for _, d := range dirs {
					want += len(laketest.Rows(t, d, rrs.TXN))
				}
				if res.Rows[0][0] != json.Number(strconv.Itoa(want)) || !strings.HasPrefix(res.Rows[0][1].(string), "xxxx") || res.LogID == 0 {
					t.Fatalf("query result %+v (want %d rows counted, masked account)", res, want)
				}
			case "rows capped":
				var res lakesql.Result
				if err := json.Unmarshal(body, &res); err != nil || len(res.Rows) != 5 || !res.Truncated {
					t.Fatalf("max_rows above the API's cap: %d rows, truncated %v, %v", len(res.Rows), res.Truncated, err)
				}
			case "query log":
				var entries []lakesql.Entry
				if err := json.Unmarshal(body, &entries); err != nil {
					t.Fatal(err)
				}
				// The queries and the refused DROP, all by alice (the
				// malformed bodies never reached the engine).
				if len(entries) != 3 || entries[0].User != "alice" || entries[2].Decision != lakesql.DecisionRefused {
					t.Fatalf("query log %+v", entries)
				}
			}
		})
	}
}

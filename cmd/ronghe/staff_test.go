package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/lake"
	"github.com/ronghe/ronghe/lake/lakesql"
	"github.com/ronghe/ronghe/lake/laketest"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/rrs"
)

// TestLakeAPI runs the platform with the lake filled by real submissions
// and reaches it as the operator's staff: an analyst's governed query
// comes back masked and is logged under the analyst's name, an admin reads
// the query log, a bank is refused on every lake route, and a revoked staff
// certificate opens nothing.
func TestLakeAPI(t *testing.T) {
	ctx := context.Background()
	tp := startPlatform(t)
	_, dirs := laketest.Region(t, 2)
	banks := map[string]*institution{}
	txnRows := map[string]int{}
	var total int
	want := map[string]int64{} // rows per lake table once every batch has landed
	for _, d := range dirs {
		id, err := rrs.ParseBatchID(filepath.Base(d))
		if err != nil {
			t.Fatal(err)
		}
		in := banks[id.InstCode]
		if in == nil {
			dir := filepath.Join(t.TempDir(), "profile-"+id.InstCode)
			prof, err := onboard(ctx, tp.p.db, tp.p.keys, onboarding{code: id.InstCode, name: "银行" + id.InstCode, kind: ronghe.KindBank,
				suite: ronghe.SuiteINTL, server: tp.server, out: dir, certDays: 30})
			if err != nil {
				t.Fatal(err)
			}
			in = &institution{code: id.InstCode, prof: prof, c: newClient(t, prof), dir: dir}
			banks[id.InstCode] = in
		}
		if _, err := in.c.Submit(ctx, d, client.SubmitOptions{}); err != nil {
			t.Fatalf("submit %s: %v", filepath.Base(d), err)
		}
		for _, rt := range rrs.Current().Types {
			want["rrs."+lake.TableName(rt.Type)] += int64(len(laketest.Rows(t, d, rt.Type)))
		}
		n := len(laketest.Rows(t, d, rrs.TXN))
		txnRows[id.InstCode] += n
		total += n
	}

	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCommand(t, args...)
		if code != 0 {
			t.Fatalf("ronghe %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	// Staff: an analyst and an admin, with credentials directories.
	aliceDir, rootDir := filepath.Join(t.TempDir(), "alice"), filepath.Join(t.TempDir(), "root")
	var alice, root staffIssued
	if err := json.Unmarshal([]byte(must("admin", "staff", "add", "--data", tp.dir, "--name", "alice", "--role", "analyst", "--server", tp.server, "--out", aliceDir, "--json")), &alice); err != nil {
		t.Fatal(err)
	}
	must("admin", "staff", "add", "--data", tp.dir, "--name", "root", "--role", "admin", "--server", tp.server, "--out", rootDir)
	if _, st, err := client.LoadStaff(rootDir); err != nil || st.Role != "admin" || st.Serial == "" {
		t.Fatalf("root's credentials: %+v, %v", st, err)
	} else {
		root = staffIssued{Name: st.Name, Role: st.Role, Serial: st.Serial}
	}
	if code, _, _ := runCommand(t, "admin", "staff", "add", "--data", tp.dir, "--name", "eve", "--role", "superuser", "--out", t.TempDir()); code != 2 {
		t.Fatalf("unknown role: exit %d, want 2", code)
	}

	// The catalog through the API, once the pipeline has landed every batch.
	asAlice := []string{"--server", tp.server, "--staff", aliceDir}
	waitFor(t, "the lake to hold every batch", func() bool {
		var tables []ronghe.LakeTable
		if err := json.Unmarshal([]byte(must(append([]string{"catalog", "--json"}, asAlice...)...)), &tables); err != nil {
			t.Fatal(err)
		}
		landed := len(tables) == len(want)
		for _, tb := range tables {
			landed = landed && tb.Rows == want[tb.Name]
		}
		return landed && want["rrs.txn"] == int64(total)
	})
	// The client speaks the whole catalog: what it prints is what the lake says.
	if remote, local := must(append([]string{"catalog", "--json"}, asAlice...)...), must("catalog", "--data", tp.dir, "--json"); remote != local {
		t.Fatalf("catalog through the API differs from the lake's:\n%s\n---\n%s", remote, local)
	}
	if text := must(append(append([]string{"catalog"}, asAlice...), "txn")...); !strings.Contains(text, "acct_no") || !strings.Contains(text, "catalog of "+tp.server) {
		t.Fatalf("catalog txn:\n%s", text)
	}

	// An analyst's query: level 3 columns masked, every row counted.
	var res ronghe.LakeResult
	q := "SELECT count(*) AS n, max(acct_no) AS a FROM txn"
	if err := json.Unmarshal([]byte(must(append([]string{"sql", "--json"}, append(asAlice, q)...)...)), &res); err != nil {
		t.Fatal(err)
	}
	if n, _ := res.Rows[0][0].(json.Number).Int64(); n != int64(total) || !strings.HasPrefix(res.Rows[0][1].(string), "xxxx") || len(res.Masked) == 0 || res.LogID == 0 {
		t.Fatalf("analyst's result %+v (want %d rows, a masked account)", res, total)
	}
	var tenant string
	for code := range banks {
		tenant = code
		break
	}
	code, out, errOut := runCommand(t, append([]string{"sql", "--tenant", tenant}, append(asAlice, "SELECT count(*) AS n FROM txn")...)...)
	if code != 0 || !strings.Contains(out, "n\n") || !strings.Contains(errOut, "columns masked") {
		t.Fatalf("tenant query: exit %d\n%s%s", code, out, errOut)
	}
	if got := strings.Fields(out)[1]; got != strconv.Itoa(txnRows[tenant]) {
		t.Fatalf("tenant %s: %s rows, want %d", tenant, got, txnRows[tenant])
	}
	// A role claimed on the command line is not sent: it is refused here.
	if code, _, _ := runCommand(t, append([]string{"sql", "--role", "admin"}, append(asAlice, q)...)...); code != 2 {
		t.Fatalf("--role with --server: exit %d, want 2", code)
	}
	// The query log is for admins.
	if code, _, errOut := runCommand(t, append([]string{"sql", "--history"}, asAlice...)...); code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Fatalf("analyst's --history: exit %d %s", code, errOut)
	}
	var log []ronghe.LakeLogEntry
	asRoot := []string{"--server", tp.server, "--cert", filepath.Join(rootDir, client.CertFile), "--key", filepath.Join(rootDir, client.KeyFile),
		"--ca", filepath.Join(rootDir, client.CAFile)}
	if err := json.Unmarshal([]byte(must(append([]string{"sql", "--history", "--json"}, asRoot...)...)), &log); err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].User != "alice" || log[0].Role != "analyst" || log[0].Statement != q || log[0].Decision != lakesql.DecisionRun ||
		log[1].Tenant != tenant || log[1].User != "alice" {
		t.Fatalf("query log %+v", log)
	}
	if text := must(append([]string{"sql", "--history"}, asRoot...)...); !strings.Contains(text, "alice") || !strings.Contains(text, q) {
		t.Fatalf("query log text:\n%s", text)
	}

	// The tenant wall: a bank's valid certificate opens no lake route.
	bank := banks[tenant]
	if _, err := bank.c.LakeCatalog(ctx); ronghe.ErrorCode(err) != ronghe.EFORBIDDEN {
		t.Fatalf("bank's catalog: %v", err)
	}
	wantProblem(t, func() error { _, err := bank.c.LakeSQL(ctx, ronghe.LakeQuery{SQL: "SELECT 1"}); return err }(), http.StatusForbidden, ronghe.EFORBIDDEN)
	wantProblem(t, func() error { _, err := bank.c.LakeQueryLog(ctx, 0, 10); return err }(), http.StatusForbidden, ronghe.EFORBIDDEN)
	asBank := []string{"--server", tp.server, "--cert", filepath.Join(bank.dir, client.CertFile), "--key", filepath.Join(bank.dir, client.KeyFile),
		"--ca", filepath.Join(bank.dir, client.CAFile)}
	if code, _, errOut := runCommand(t, append([]string{"sql"}, append(asBank, "SELECT 1")...)...); code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Fatalf("bank's sql: exit %d %s", code, errOut)
	}
	// Nothing the bank tried reached the log.
	if log, err := newClientFor(t, rootDir).LakeQueryLog(ctx, 0, 100); err != nil || len(log) != 2 {
		t.Fatalf("query log after the bank: %d entries, %v", len(log), err)
	}

	// Revocation: alice's certificate opens nothing any more; a bank's
	// certificate is not revoked as staff.
	if code, _, errOut := runCommand(t, "admin", "staff", "revoke", "--data", tp.dir, "--serial", certSerial(t, bank.prof.CertPEM)); code != 1 || !strings.Contains(errOut, "not to a member of staff") {
		t.Fatalf("staff revoke of a bank's certificate: exit %d %s", code, errOut)
	}
	must("admin", "staff", "revoke", "--data", tp.dir, "--serial", alice.Serial)
	if _, err := newClientFor(t, aliceDir).LakeCatalog(ctx); ronghe.ErrorCode(err) != ronghe.EUNAUTHORIZED {
		t.Fatalf("revoked alice's catalog: %v", err)
	}
	if _, err := newClientFor(t, rootDir).LakeCatalog(ctx); err != nil {
		t.Fatalf("root after alice's revocation: %v (serial %s)", err, root.Serial)
	}
}

func newClientFor(t *testing.T, staffDir string) *client.Client {
	t.Helper()
	prof, _, err := client.LoadStaff(staffDir)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, prof)
}

func certSerial(t *testing.T, certPEM []byte) string {
	t.Helper()
	c, err := pki.ParseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pki.SerialHex(c.SerialNumber)
}

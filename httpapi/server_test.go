package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		client     string
		wantStatus int
		wantDetail string
	}{
		{"none", 401, "needs a client certificate"},
		{"revoked", 401, "was revoked"},
		{"unregistered", 401, "is not registered"},
		{"A", 404, "no submission"},
	}
	for _, tc := range tests {
		t.Run(tc.client, func(t *testing.T) {
			st, h, b := e.do(tc.client, "GET", "/v1/submissions/nope", nil, nil)
			code := ronghe.EUNAUTHORIZED
			if tc.wantStatus == 404 {
				code = ronghe.ENOTFOUND
			}
			p := e.problem(st, h, b, tc.wantStatus, code)
			if !strings.Contains(p.Detail, tc.wantDetail) {
				t.Errorf("detail %q, want it to contain %q", p.Detail, tc.wantDetail)
			}
		})
	}
	// Revocation takes effect on the next request over the same connection.
	st, _, _ := e.do("B", "GET", "/v1/mailbox", nil, nil)
	if st != 200 {
		t.Fatalf("B before revocation: %d", st)
	}
	e.insts.mu.Lock()
	for _, c := range e.insts.certs {
		if c.Owner == instB {
			now := time.Now()
			c.RevokedAt = &now
		}
	}
	e.insts.mu.Unlock()
	st, h, b := e.do("B", "GET", "/v1/mailbox", nil, nil)
	e.problem(st, h, b, 401, ronghe.EUNAUTHORIZED)

	// A store outage is a 503, never a pass.
	e.insts.mu.Lock()
	e.insts.err = ronghe.Errorf(ronghe.EUNAVAILABLE, "database unavailable")
	e.insts.mu.Unlock()
	st, h, b = e.do("A", "GET", "/v1/mailbox", nil, nil)
	e.problem(st, h, b, 503, ronghe.EUNAVAILABLE)
}

func TestPublicEndpoints(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		path, wantType, wantBody string
	}{
		{"/healthz", "application/json", `{"status":"ok"}`},
		{"/openapi.json", "application/json", `"openapi": "3.1.0"`},
		{"/v1/platform", "application/json", `"log_origin":"ronghe.test/log"`},
		{"/log/checkpoint", "text/plain; charset=utf-8", "ronghe.test/log\n1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			st, h, b := e.do("none", "GET", tc.path, nil, nil)
			if st != 200 || h.Get("Content-Type") != tc.wantType || !strings.Contains(string(b), tc.wantBody) {
				t.Fatalf("status %d type %q body %s", st, h.Get("Content-Type"), b)
			}
		})
	}
	var p Platform
	_, _, b := e.do("none", "GET", "/v1/platform", nil, nil)
	if err := json.Unmarshal(b, &p); err != nil || p.CAPEM == "" || len(p.SigningKeys) != 1 || len(p.RRSVersions) == 0 || p.UploadURL != UploadsPath || p.MaxUploadBytes != 1<<20 {
		t.Fatalf("platform %s: %v", b, err)
	}
	// The tiles handler's own 404 becomes a problem.
	st, h, b := e.do("none", "GET", "/log/tile/0/999", nil, nil)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
}

func TestSchemas(t *testing.T) {
	e := newEnv(t)
	st, h, b := e.do("none", "GET", "/schemas/RRS-1/9.0/TXN.json", nil, nil)
	p := e.problem(st, h, b, 415, ronghe.EUNSUPPORTED)
	if !strings.Contains(p.Detail, "1.0") {
		t.Errorf("detail %q does not name the supported versions", p.Detail)
	}
	st, h, b = e.do("none", "GET", "/schemas/RRS-1/1.0/NOPE.json", nil, nil)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
	st, h, b = e.do("none", "GET", "/schemas/RRS-1/1.0/TXN.csv", nil, nil)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
	for _, v := range []string{"1.0", "1"} {
		st, h, b = e.do("none", "GET", "/schemas/RRS-1/"+v+"/TXN.json", nil, nil)
		if st != 200 || h.Get("Content-Type") != "application/schema+json" {
			t.Fatalf("TXN schema %s: %d %s", v, st, b)
		}
		var s map[string]any
		if err := json.Unmarshal(b, &s); err != nil || s["$schema"] == nil {
			t.Fatalf("TXN schema is not a JSON Schema: %v %s", err, b)
		}
	}
}

func TestSubmit(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{"TXN.csv": []byte("a,b\n1,2\n")}
	man := manifest(instA, "B0001H24401010_20250301_1", files)
	tests := []struct {
		name       string
		client     string
		body       []byte
		hdr        map[string]string
		wantStatus int
		wantCode   string
	}{
		{"new", "A", submitBody(man, "good signature"), jsonHeader, 201, ""},
		{"replay", "A", submitBody(man, "good signature"), jsonHeader, 200, ""},
		{"no content type is json", "A", submitBody(man, "good signature"), nil, 200, ""},
		{"other manifest same id", "A", submitBody(manifest(instA, "B0001H24401010_20250301_1", map[string][]byte{"TXN.csv": []byte("x")}), "good signature"), jsonHeader, 409, ronghe.ECONFLICT},
		{"bad signature", "A", submitBody(manifest(instA, "m2", files), "forged"), jsonHeader, 422, ronghe.EINTEGRITY},
		{"sender is someone else", "B", submitBody(man, "good signature"), jsonHeader, 403, ronghe.EFORBIDDEN},
		{"unknown member", "A", []byte(`{"manifest":"e30=","signature":"eA==","extra":1}`), jsonHeader, 400, ronghe.EINVALID},
		{"trailing data", "A", []byte(`{"manifest":"e30=","signature":"eA=="} {}`), jsonHeader, 400, ronghe.EINVALID},
		{"not base64", "A", []byte(`{"manifest":"***","signature":"eA=="}`), jsonHeader, 400, ronghe.EINVALID},
		{"missing signature", "A", []byte(`{"manifest":"e30="}`), jsonHeader, 400, ronghe.EINVALID},
		{"not json", "A", []byte(`manifest=1`), jsonHeader, 400, ronghe.EINVALID},
		{"wrong media type", "A", submitBody(man, "good signature"), map[string]string{"Content-Type": "text/csv"}, 415, ronghe.EUNSUPPORTED},
		{"too large", "A", append(append([]byte(`{"manifest":"`), bytes.Repeat([]byte("A"), MaxRequestBytes)...), `"}`...), jsonHeader, 413, ronghe.ETOOLARGE},
		{"no certificate", "none", submitBody(man, "good signature"), jsonHeader, 401, ronghe.EUNAUTHORIZED},
		{"internal", "A", submitBody(manifest(instA, "internal", files), "good signature"), jsonHeader, 500, ronghe.EINTERNAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, h, b := e.do(tc.client, "POST", "/v1/submissions", tc.body, tc.hdr)
			if tc.wantCode != "" {
				p := e.problem(st, h, b, tc.wantStatus, tc.wantCode)
				if tc.wantCode == ronghe.EINTERNAL && p.Detail != "internal error" {
					t.Errorf("internal detail leaked: %q", p.Detail)
				}
				return
			}
			if st != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", st, tc.wantStatus, b)
			}
			var v SubmissionView
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if v.MessageID != "B0001H24401010_20250301_1" || v.Status != ronghe.SubmissionUploading || v.UploadURL != UploadsPath ||
				len(v.Files) != 1 || v.Files[0].Name != "TXN.csv" || v.Files[0].Size != 8 || v.Files[0].Done || v.Receipt != nil {
				t.Fatalf("view %+v", v)
			}
			if h.Get("Location") != "/v1/submissions/"+v.MessageID {
				t.Errorf("Location %q", h.Get("Location"))
			}
			// accepted_at and log_index are present and null while uploading.
			if !bytes.Contains(b, []byte(`"accepted_at":null`)) || !bytes.Contains(b, []byte(`"log_index":null`)) {
				t.Errorf("view lacks null accepted_at/log_index: %s", b)
			}
		})
	}
	if !strings.Contains(e.logBuf.String(), "io: read/write on closed pipe") {
		t.Error("the internal error's cause was not logged")
	}
}

func TestOtherTenantIsNotFound(t *testing.T) {
	e := newEnv(t)
	man := manifest(instA, "msgA", map[string][]byte{"TXN.csv": []byte("x")})
	if st, _, b := e.do("A", "POST", "/v1/submissions", submitBody(man, "good signature"), jsonHeader); st != 201 {
		t.Fatalf("submit: %d %s", st, b)
	}
	e.ex.mailbox["MB1"] = &ronghe.MailboxMessage{ID: "MB1", Tenant: instA, Kind: "quality.report", Envelope: []byte(`{}`)}
	for _, path := range []string{"/v1/submissions/%s", "/v1/submissions/%s/receipt", "/v1/submissions/%s/evidence", "/v1/mailbox/%s"} {
		own := strings.ReplaceAll(path, "%s", map[bool]string{true: "MB1", false: "msgA"}[strings.Contains(path, "mailbox")])
		missing := strings.ReplaceAll(path, "%s", "missing")
		stB, hB, bB := e.do("B", "GET", own, nil, nil)
		stM, hM, bM := e.do("B", "GET", missing, nil, nil)
		pB := e.problem(stB, hB, bB, 404, ronghe.ENOTFOUND)
		pM := e.problem(stM, hM, bM, 404, ronghe.ENOTFOUND)
		if strings.ReplaceAll(pB.Detail, "MB1", "missing") != pM.Detail && strings.ReplaceAll(pB.Detail, "msgA", "missing") != pM.Detail {
			t.Errorf("%s: another tenant's object reads %q, a missing one %q", own, pB.Detail, pM.Detail)
		}
	}
	st, h, b := e.do("B", "POST", "/v1/submissions/msgA/complete", nil, nil)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
	st, h, b = e.do("B", "POST", "/v1/mailbox/MB1/ack", signedAck(t), jsonHeader)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
}

func signedAck(t *testing.T) []byte {
	payload, _ := json.Marshal(evidence.Ack{Type: evidence.TypeAck, MessageID: "MB1", Party: instA, Digest: []byte{1}})
	return (&evidence.Signed{Payload: payload, Signatures: []evidence.Signature{{KeyID: "k", Suite: ronghe.SuiteINTL, Sig: []byte("s")}}}).Marshal()
}

// tusCreate creates an upload and returns its path.
func (e *env) tusCreate(client string, length int, meta map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	return e.do(client, "POST", UploadsPath, nil, map[string]string{
		"Tus-Resumable":   "1.0.0",
		"Upload-Length":   strconv.Itoa(length),
		"Upload-Metadata": handler.SerializeMetadataHeader(meta),
	})
}

func (e *env) tusPatch(client, location string, offset int, chunk []byte) (int, http.Header, []byte) {
	e.t.Helper()
	return e.do(client, "PATCH", strings.TrimPrefix(location, e.ts.URL), chunk, map[string]string{
		"Tus-Resumable": "1.0.0",
		"Upload-Offset": strconv.Itoa(offset),
		"Content-Type":  "application/offset+octet-stream",
	})
}

func TestSubmissionFlow(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{"ACCT.csv": []byte("acct\n1\n"), "TXN.csv": bytes.Repeat([]byte("txn,1\n"), 1000)}
	const id = "B0001H24401010_20250301_1"
	if st, _, b := e.do("A", "POST", "/v1/submissions", submitBody(manifest(instA, id, files), "good signature"), jsonHeader); st != 201 {
		t.Fatalf("submit: %d %s", st, b)
	}
	meta := func(file string) map[string]string { return map[string]string{MetaMessageID: id, MetaFile: file} }

	// Before any file: complete says 202, receipt 404.
	st, _, b := e.do("A", "POST", "/v1/submissions/"+id+"/complete", nil, nil)
	if st != 202 {
		t.Fatalf("complete before upload: %d %s", st, b)
	}
	st, h, b := e.do("A", "GET", "/v1/submissions/"+id+"/receipt", nil, nil)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
	st, h, b = e.do("A", "GET", "/v1/submissions/"+id+"/evidence", nil, nil)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)

	// ACCT.csv in one go.
	st, h, b = e.tusCreate("A", len(files["ACCT.csv"]), meta("ACCT.csv"))
	if st != 201 || !strings.HasPrefix(h.Get("Location"), e.ts.URL+UploadsPath) {
		t.Fatalf("create: %d %v %s", st, h, b)
	}
	acct := h.Get("Location")
	st, h, b = e.tusPatch("A", acct, 0, files["ACCT.csv"])
	if st != 204 || h.Get(SubmissionStatusHeader) != ronghe.SubmissionUploading {
		t.Fatalf("patch: %d %v %s", st, h, b)
	}
	// Another tenant cannot see, resume or learn about the upload.
	st, h, b = e.do("B", "HEAD", strings.TrimPrefix(acct, e.ts.URL), nil, map[string]string{"Tus-Resumable": "1.0.0"})
	if st != 404 || h.Get("Content-Type") != ProblemContentType || len(b) != 0 {
		t.Fatalf("HEAD by another tenant: %d %v %q", st, h, b)
	}
	st, h, b = e.tusPatch("B", acct, 0, []byte("x"))
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)

	// TXN.csv in two chunks, with a resume check in between.
	txn := files["TXN.csv"]
	st, h, _ = e.tusCreate("A", len(txn), meta("TXN.csv"))
	if st != 201 {
		t.Fatalf("create TXN: %d", st)
	}
	loc := h.Get("Location")
	if st, _, b = e.tusPatch("A", loc, 0, txn[:4*testChunk]); st != 204 {
		t.Fatalf("patch 1: %d %s", st, b)
	}
	st, h, _ = e.do("A", "HEAD", strings.TrimPrefix(loc, e.ts.URL), nil, map[string]string{"Tus-Resumable": "1.0.0"})
	if st != 200 || h.Get("Upload-Offset") != strconv.Itoa(4*testChunk) {
		t.Fatalf("HEAD: %d offset %q", st, h.Get("Upload-Offset"))
	}
	st, h, b = e.tusPatch("A", loc, 4*testChunk-1, txn[4*testChunk-1:])
	e.problem(st, h, b, 409, ronghe.ECONFLICT)
	st, h, b = e.tusPatch("A", loc, 4*testChunk, txn[4*testChunk:])
	if st != 204 || h.Get(SubmissionStatusHeader) != ronghe.SubmissionAccepted {
		t.Fatalf("patch 2: %d %v %s", st, h, b)
	}

	// complete is idempotent and carries the receipt.
	for range 2 {
		st, _, b = e.do("A", "POST", "/v1/submissions/"+id+"/complete", nil, nil)
		if st != 200 {
			t.Fatalf("complete: %d %s", st, b)
		}
		var v SubmissionView
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if v.Status != ronghe.SubmissionAccepted || v.AcceptedAt == nil || v.LogIndex == nil || *v.LogIndex != 7 || !v.Files[0].Done || !v.Files[1].Done {
			t.Fatalf("view %s", b)
		}
		doc, err := evidence.Parse(v.Receipt)
		if err != nil {
			t.Fatalf("embedded receipt: %v in %s", err, b)
		}
		if typ, _ := doc.Type(); typ != evidence.TypeReceipt {
			t.Fatalf("receipt type %q", typ)
		}
	}
	st, h, b = e.do("A", "GET", "/v1/submissions/"+id+"/receipt", nil, nil)
	if st != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("receipt: %d %s", st, b)
	}
	if _, err := evidence.Parse(b); err != nil {
		t.Fatalf("receipt: %v", err)
	}
	st, _, b = e.do("A", "GET", "/v1/submissions/"+id+"/evidence", nil, nil)
	var bundle evidence.Bundle
	if st != 200 || json.Unmarshal(b, &bundle) != nil || bundle.Type != evidence.TypeBundle || bundle.Receipt == nil || !bytes.Equal(bundle.Manifest, manifest(instA, id, files)) {
		t.Fatalf("evidence: %d %s", st, b)
	}
	// Nothing more can be uploaded to an accepted submission.
	st, h, b = e.tusCreate("A", len(txn), meta("TXN.csv"))
	e.problem(st, h, b, 409, ronghe.ECONFLICT)
}

func TestUploadCreation(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{"TXN.csv": []byte("0123456789")}
	if st, _, b := e.do("A", "POST", "/v1/submissions", submitBody(manifest(instA, "m1", files), "good signature"), jsonHeader); st != 201 {
		t.Fatalf("submit: %d %s", st, b)
	}
	tests := []struct {
		name       string
		client     string
		length     int
		meta       map[string]string
		wantStatus int
		wantCode   string
	}{
		{"no metadata", "A", 10, map[string]string{}, 400, ronghe.EINVALID},
		{"no file", "A", 10, map[string]string{MetaMessageID: "m1"}, 400, ronghe.EINVALID},
		{"unknown message", "A", 10, map[string]string{MetaMessageID: "m9", MetaFile: "TXN.csv"}, 404, ronghe.ENOTFOUND},
		{"another tenant's message", "B", 10, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"}, 404, ronghe.ENOTFOUND},
		{"unknown file", "A", 10, map[string]string{MetaMessageID: "m1", MetaFile: "BAL.csv"}, 404, ronghe.ENOTFOUND},
		{"too short", "A", 9, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"}, 400, ronghe.EINVALID},
		{"too long", "A", 11, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"}, 413, ronghe.ETOOLARGE},
		{"over the server limit", "A", 2 << 20, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"}, 413, ronghe.ETOOLARGE},
		{"no certificate", "none", 10, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"}, 401, ronghe.EUNAUTHORIZED},
		{"ok", "A", 10, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"}, 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, h, b := e.tusCreate(tc.client, tc.length, tc.meta)
			if tc.wantCode == "" {
				if st != tc.wantStatus {
					t.Fatalf("status %d: %s", st, b)
				}
				return
			}
			e.problem(st, h, b, tc.wantStatus, tc.wantCode)
		})
	}
	// The tus version check (a tusd error) is a problem too.
	st, h, b := e.do("A", "POST", UploadsPath, nil, map[string]string{"Upload-Length": "10"})
	e.problem(st, h, b, 412, ronghe.EINVALID)
	// Capability discovery needs no certificate.
	st, h, _ = e.do("none", "OPTIONS", UploadsPath, nil, nil)
	if st != 200 || h.Get("Tus-Version") != "1.0.0" || h.Get("Tus-Max-Size") != strconv.Itoa(1<<20) || !strings.Contains(h.Get("Tus-Extension"), "termination") {
		t.Fatalf("OPTIONS: %d %v", st, h)
	}
}

func TestUploadIntegrity(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{"TXN.csv": []byte("0123456789")}
	if st, _, b := e.do("A", "POST", "/v1/submissions", submitBody(manifest(instA, "m1", files), "good signature"), jsonHeader); st != 201 {
		t.Fatalf("submit: %d %s", st, b)
	}
	st, h, b := e.tusCreate("A", 10, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"})
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	loc := h.Get("Location")
	start := time.Now()
	st, h, b = e.tusPatch("A", loc, 0, []byte("0123456780"))
	p := e.problem(st, h, b, 422, ronghe.EINTEGRITY)
	if !strings.Contains(p.Detail, "TXN.csv") {
		t.Errorf("detail %q does not name the file", p.Detail)
	}
	// The exchange discarded the upload, which takes the upload's lock: it
	// must run after tusd released it, not wait for it.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the integrity check took %v: the upload's lock was still held", d)
	}
	st, _, _ = e.do("A", "HEAD", strings.TrimPrefix(loc, e.ts.URL), nil, map[string]string{"Tus-Resumable": "1.0.0"})
	if st != 404 {
		t.Errorf("the mismatching upload still exists: HEAD %d", st)
	}
	st, _, b = e.do("A", "POST", "/v1/submissions/m1/complete", nil, nil)
	if st != 202 {
		t.Fatalf("complete after a bad file: %d %s", st, b)
	}
}

func TestUploadResumeAfterFailure(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{"TXN.csv": []byte("0123456789")}
	e.do("A", "POST", "/v1/submissions", submitBody(manifest(instA, "m1", files), "good signature"), jsonHeader)
	_, h, _ := e.tusCreate("A", 10, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"})
	loc := h.Get("Location")
	e.ex.failUploads = 1
	st, h, b := e.tusPatch("A", loc, 0, files["TXN.csv"])
	e.problem(st, h, b, 503, ronghe.EUNAVAILABLE)
	// The bytes are stored; a PATCH at the end hands the upload over again.
	st, h, _ = e.do("A", "HEAD", strings.TrimPrefix(loc, e.ts.URL), nil, map[string]string{"Tus-Resumable": "1.0.0"})
	if st != 200 || h.Get("Upload-Offset") != "10" {
		t.Fatalf("HEAD: %d %q", st, h.Get("Upload-Offset"))
	}
	st, h, b = e.tusPatch("A", loc, 10, nil)
	if st != 204 || h.Get(SubmissionStatusHeader) != ronghe.SubmissionAccepted {
		t.Fatalf("PATCH at the end: %d %v %s", st, h, b)
	}
	// HEAD never hands anything over.
	e.ex.mu.Lock()
	n := len(e.ex.calls)
	e.ex.mu.Unlock()
	e.do("A", "HEAD", strings.TrimPrefix(loc, e.ts.URL), nil, map[string]string{"Tus-Resumable": "1.0.0"})
	e.ex.mu.Lock()
	defer e.ex.mu.Unlock()
	if len(e.ex.calls) != n {
		t.Errorf("HEAD called the exchange: %v", e.ex.calls[n:])
	}
}

func TestUploadTermination(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{"TXN.csv": []byte("0123456789")}
	e.do("A", "POST", "/v1/submissions", submitBody(manifest(instA, "m1", files), "good signature"), jsonHeader)
	_, h, _ := e.tusCreate("A", 10, map[string]string{MetaMessageID: "m1", MetaFile: "TXN.csv"})
	path := strings.TrimPrefix(h.Get("Location"), e.ts.URL)
	st, h, b := e.do("B", "DELETE", path, nil, map[string]string{"Tus-Resumable": "1.0.0"})
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
	if st, _, b := e.do("A", "DELETE", path, nil, map[string]string{"Tus-Resumable": "1.0.0"}); st != 204 {
		t.Fatalf("DELETE: %d %s", st, b)
	}
	st, h, b = e.tusPatch("A", path, 0, []byte("0123456789"))
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
}

func TestMailbox(t *testing.T) {
	e := newEnv(t)
	idx := uint64(3)
	for i, id := range []string{"MB1", "MB2", "MB3"} {
		e.ex.mailbox[id] = &ronghe.MailboxMessage{ID: id, Tenant: instA, Kind: "quality.report", Subject: "report " + id,
			ContentType: "application/json", Body: []byte(`{"score":98}`), Digest: []byte{byte(i)},
			Envelope: []byte(`{"payload":"e30=","signatures":[]}`), CreatedAt: time.Date(2025, 3, 1, i, 0, 0, 0, time.UTC), LogIndex: &idx}
	}
	st, _, b := e.do("A", "GET", "/v1/mailbox?limit=2", nil, nil)
	var page MailboxList
	if st != 200 || json.Unmarshal(b, &page) != nil || len(page.Messages) != 2 || page.Next != "MB2" {
		t.Fatalf("page 1: %d %s", st, b)
	}
	if bytes.Contains(b, []byte(`"body"`)) || bytes.Contains(b, []byte(`"envelope"`)) {
		t.Errorf("listing carries bodies: %s", b)
	}
	st, _, b = e.do("A", "GET", "/v1/mailbox?limit=2&after="+page.Next, nil, nil)
	page = MailboxList{}
	if st != 200 || json.Unmarshal(b, &page) != nil || len(page.Messages) != 1 || page.Messages[0].ID != "MB3" || page.Next != "" {
		t.Fatalf("page 2: %d %s", st, b)
	}
	st, _, b = e.do("A", "GET", "/v1/mailbox/MB2", nil, nil)
	var m MailboxMessageView
	if st != 200 || json.Unmarshal(b, &m) != nil || string(m.Body) != `{"score":98}` || string(m.Envelope) != `{"payload":"e30=","signatures":[]}` {
		t.Fatalf("message: %d %s", st, b)
	}
	if !bytes.Contains(b, []byte(`"body":"`+base64.StdEncoding.EncodeToString([]byte(`{"score":98}`))+`"`)) {
		t.Errorf("body is not base64: %s", b)
	}
	st, _, b = e.do("A", "POST", "/v1/mailbox/MB1/ack", signedAck(t), jsonHeader)
	if st != 200 || json.Unmarshal(b, &m) != nil || m.AckedAt == nil || m.AckKeyID != "k-ack" {
		t.Fatalf("ack: %d %s", st, b)
	}
	st, _, b = e.do("A", "GET", "/v1/mailbox?unacked=true", nil, nil)
	page = MailboxList{}
	if st != 200 || json.Unmarshal(b, &page) != nil || len(page.Messages) != 2 {
		t.Fatalf("unacked: %d %s", st, b)
	}

	bad := []struct {
		name, method, path string
		body               []byte
		wantStatus         int
		wantCode           string
	}{
		{"limit zero", "GET", "/v1/mailbox?limit=0", nil, 400, ronghe.EINVALID},
		{"limit huge", "GET", "/v1/mailbox?limit=100000", nil, 400, ronghe.EINVALID},
		{"unacked not bool", "GET", "/v1/mailbox?unacked=maybe", nil, 400, ronghe.EINVALID},
		{"unknown parameter", "GET", "/v1/mailbox?sort=desc", nil, 400, ronghe.EINVALID},
		{"ack with unknown member", "POST", "/v1/mailbox/MB1/ack", []byte(`{"payload":"e30=","signatures":[{"key_id":"k","suite":"INTL","sig":"cw=="}],"x":1}`), 400, ronghe.EINVALID},
		{"ack not json", "POST", "/v1/mailbox/MB1/ack", []byte(`ack`), 400, ronghe.EINVALID},
		{"ack too large", "POST", "/v1/mailbox/MB1/ack", bytes.Repeat([]byte(" "), MaxRequestBytes+1), 413, ronghe.ETOOLARGE},
		{"missing message", "GET", "/v1/mailbox/MB9", nil, 404, ronghe.ENOTFOUND},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			st, h, b := e.do("A", tc.method, tc.path, tc.body, jsonHeader)
			e.problem(st, h, b, tc.wantStatus, tc.wantCode)
		})
	}
}

func TestMiddleware(t *testing.T) {
	e := newEnv(t)
	// The request ID is echoed when valid and replaced when not.
	_, h, _ := e.do("none", "GET", "/healthz", nil, map[string]string{RequestIDHeader: "abc-123"})
	if h.Get(RequestIDHeader) != "abc-123" {
		t.Errorf("request id %q", h.Get(RequestIDHeader))
	}
	_, h, _ = e.do("none", "GET", "/healthz", nil, map[string]string{RequestIDHeader: "bad id; " + strings.Repeat("x", 70)})
	if id := h.Get(RequestIDHeader); id == "" || strings.HasPrefix(id, "bad") {
		t.Errorf("request id %q", id)
	}
	// Unknown paths and methods are problems.
	st, h, b := e.do("none", "GET", "/v2/nothing", nil, nil)
	e.problem(st, h, b, 404, ronghe.ENOTFOUND)
	st, h, b = e.do("A", "DELETE", "/v1/submissions/x", nil, nil)
	e.problem(st, h, b, 405, ronghe.EINVALID)
	if h.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	// A panic is a 500 problem that reveals nothing, and is logged.
	e.ex.panicOn = "Submit"
	st, h, b = e.do("A", "POST", "/v1/submissions", submitBody(manifest(instA, "p", nil), "good signature"), jsonHeader)
	p := e.problem(st, h, b, 500, ronghe.EINTERNAL)
	if strings.Contains(p.Detail, "secret") {
		t.Errorf("panic leaked: %q", p.Detail)
	}
	logs := e.logBuf.String()
	if !strings.Contains(logs, "secret internal state") {
		t.Error("panic not logged")
	}
	// The access log names the tenant.
	var found bool
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "http request" && rec["tenant"] == instA && rec["status"] == float64(500) {
			found = true
		}
	}
	if !found {
		t.Errorf("no access log line with the tenant: %s", logs)
	}
}

func TestProblemMapping(t *testing.T) {
	tests := []struct {
		code   string
		status int
	}{
		{ronghe.EINVALID, 400}, {ronghe.EUNAUTHORIZED, 401}, {ronghe.EFORBIDDEN, 403}, {ronghe.EEXPIRED, 403},
		{ronghe.ENOTFOUND, 404}, {ronghe.ECONFLICT, 409}, {ronghe.ETOOLARGE, 413}, {ronghe.EUNSUPPORTED, 415},
		{ronghe.EINTEGRITY, 422}, {ronghe.ERATELIMIT, 429}, {ronghe.EINTERNAL, 500}, {ronghe.EUNAVAILABLE, 503},
		{"something else", 500},
	}
	for _, tc := range tests {
		if got := HTTPStatus(tc.code); got != tc.status {
			t.Errorf("HTTPStatus(%s) = %d, want %d", tc.code, got, tc.status)
		}
		p := NewProblem(ronghe.Errorf(tc.code, "detail %d", 1))
		if p.Status != tc.status {
			t.Errorf("NewProblem(%s).Status = %d", tc.code, p.Status)
		}
	}
	if p := NewProblem(io.ErrUnexpectedEOF); p.Code != ronghe.EINTERNAL || p.Detail != "internal error" {
		t.Errorf("foreign error: %+v", p)
	}
	if got := codeForStatus(403); got != ronghe.EFORBIDDEN {
		t.Errorf("codeForStatus(403) = %s", got)
	}
}

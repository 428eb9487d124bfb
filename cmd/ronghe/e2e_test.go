package main

// End-to-end tests of the exchange over real HTTPS with mutual TLS: the
// platform runs in-process as `ronghe demo` runs it, institutions talk to it
// through the client package or hand-written requests. Every refusal is
// checked as an RFC 9457 problem (status and code) together with what the
// platform kept: submission state, staged uploads, blobs and log entries.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/httpapi"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/rrs"
)

var bg = context.Background()

func TestE2EWrongSignature(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	other := tp.onboard(t, ronghe.SuiteGM)
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": content("sig", 5000)})
	raw, sig, m := signedManifest(t, in, dir, nil)
	mk := tp.mark(t)

	bad := bytes.Clone(sig)
	bad[len(bad)/2] ^= 0x01
	_, err := in.c.PostManifest(bg, raw, bad)
	wantProblem(t, err, 422, ronghe.EINTEGRITY)
	// A valid signature, but by another institution's key under this one's key ID.
	foreign, err := other.prof.Signer.Sign(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.c.PostManifest(bg, raw, foreign)
	wantProblem(t, err, 422, ronghe.EINTEGRITY)
	// The signature of other bytes.
	_, err = in.c.PostManifest(bg, append(bytes.Clone(raw), ' '), sig)
	wantProblem(t, err, 422, ronghe.EINTEGRITY)

	_, err = in.c.Submission(bg, m.MessageID)
	wantProblem(t, err, 404, ronghe.ENOTFOUND)
	tp.nothingStored(t, in.code, m.MessageID, mk)
}

func TestE2EWrongDigest(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	good := content("digest", 300<<10)
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": good, "CTL.csv": content("ctl", 100)})
	raw, sig, m := signedManifest(t, in, dir, nil)
	if _, err := in.c.PostManifest(bg, raw, sig); err != nil {
		t.Fatal(err)
	}
	mk := tp.mark(t)

	// The file changes after signing: same size, other bytes.
	changed := bytes.Clone(good)
	changed[len(changed)-10] ^= 0x01
	r := tp.raw(t, in)
	id := r.mustCreateUpload(m.MessageID, "TXN.csv", int64(len(changed)))
	resp := r.patch(id, 0, changed)
	p := resp.problem(t, 422, ronghe.EINTEGRITY)
	if !strings.Contains(p.Detail, "TXN.csv") || !strings.Contains(p.Detail, "discarded") {
		t.Fatalf("detail %q does not say which file was discarded", p.Detail)
	}
	// The upload is gone, nothing was promoted, the file is still missing,
	// nothing was logged.
	if st, _ := r.head(id); st != http.StatusNotFound {
		t.Fatalf("HEAD of the discarded upload: HTTP %d", st)
	}
	if s := tp.staged(t); len(s) != 0 {
		t.Fatalf("staged after the mismatch: %v", s)
	}
	if b := tp.blobKeys(t, in.code); len(b) != 0 {
		t.Fatalf("blobs after the mismatch: %v", b)
	}
	sub, err := in.c.Submission(bg, m.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sub.Files {
		if f.Done {
			t.Fatalf("%s is done after a mismatch", f.Name)
		}
	}
	if sub.Status != ronghe.SubmissionUploading {
		t.Fatalf("status %s", sub.Status)
	}
	if n := tp.loggedSince(t, mk); n != 0 {
		t.Fatalf("the mismatch logged %d entries", n)
	}

	// The sender runs submit again with the right bytes: it resumes the
	// stored submission, uploads the file anew and gets the receipt.
	var sent int64
	res, err := in.c.Submit(bg, dir, client.SubmitOptions{Progress: func(phase string, n, total int64) {
		if phase == "upload" {
			sent += n
		}
	}})
	if err != nil {
		t.Fatalf("Submit with the right bytes: %v", err)
	}
	if !res.Verified || res.View.Status != ronghe.SubmissionAccepted {
		t.Fatalf("result %+v", res.View)
	}
	if want := int64(len(good) + 100); sent != want {
		t.Fatalf("upload progress adds up to %d, want %d", sent, want)
	}
	key := exchange.BlobKey(in.code, m.MessageID, "TXN.csv")
	if got := tp.blob(t, key); !bytes.Equal(got, good) {
		t.Fatal("stored TXN.csv is not the signed file")
	}
}

// TestE2ETruncatedUpload cuts a PATCH short: the body ends before its
// Content-Length and the connection closes. The platform keeps the whole
// chunks it sealed; submit resumes from there and gets the one receipt.
func TestE2ETruncatedUpload(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteINTL)
	data := content("cut", 1<<20+12345)
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": data})
	raw, sig, m := signedManifest(t, in, dir, nil)
	if _, err := in.c.PostManifest(bg, raw, sig); err != nil {
		t.Fatal(err)
	}
	r := tp.raw(t, in)
	id := r.mustCreateUpload(m.MessageID, "TXN.csv", int64(len(data)))

	// HTTP/1.1 by hand: announce the whole file, send 600 KiB, hang up.
	cfg, err := pki.ClientTLS(in.prof.CAPEM, in.prof.CertPEM, in.prof.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{"http/1.1"}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(tp.server, "https://"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const sentBytes = 600 << 10
	fmt.Fprintf(conn, "PATCH %s%s HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"+
		"Upload-Offset: 0\r\nContent-Length: %d\r\n\r\n", httpapi.UploadsPath, id, len(data))
	if _, err := conn.Write(data[:sentBytes]); err != nil {
		t.Fatal(err)
	}
	// Half-close: the body ends short of its Content-Length. The answer
	// tells that the platform is done with the request.
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	cut, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the cut PATCH: %v", err)
	}
	cut.Body.Close()
	conn.Close()
	t.Logf("cut PATCH answered HTTP %d, Upload-Offset %q", cut.StatusCode, cut.Header.Get("Upload-Offset"))

	st, offset := r.head(id)
	if st != http.StatusOK {
		t.Fatalf("HEAD: HTTP %d", st)
	}
	chunk := int64(tp.p.uploads.ChunkSize())
	if offset <= 0 || offset > sentBytes || offset%chunk != 0 {
		t.Fatalf("offset after the cut = %d; want whole chunks of %d, more than 0, at most %d", offset, chunk, sentBytes)
	}
	if _, err := tp.p.db.FindSubmission(bg, in.code, m.MessageID); err != nil {
		t.Fatal(err)
	}

	mk := tp.mark(t)
	var resumedAt int64 = -1
	var sum int64
	res, err := in.c.Submit(bg, dir, client.SubmitOptions{Progress: func(phase string, n, total int64) {
		if phase == "upload" {
			if resumedAt < 0 {
				resumedAt = n
			}
			sum += n
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resumedAt != offset {
		t.Fatalf("submit resumed at %d, the platform had %d", resumedAt, offset)
	}
	if sum != int64(len(data)) {
		t.Fatalf("upload progress adds up to %d, want %d", sum, len(data))
	}
	if !res.Verified {
		t.Fatal("receipt not verified")
	}
	if got := tp.blob(t, exchange.BlobKey(in.code, m.MessageID, "TXN.csv")); !bytes.Equal(got, data) {
		t.Fatal("the resumed file is not the file")
	}
	again, err := in.c.Submit(bg, dir, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Receipt.Marshal(), res.Receipt.Marshal()) {
		t.Fatal("a second submit returned another receipt")
	}
	if n := tp.loggedSince(t, mk); n != 1 {
		t.Fatalf("%d log entries for one submission", n)
	}
}

func TestE2EReplay(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": content("replay", 70000), "ACCT.csv": content("a", 10)})
	first, err := in.c.Submit(bg, dir, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	receipt := first.Receipt.Marshal()
	bundle, err := in.c.Evidence(bg, first.Manifest.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.verifier(t).Bundle(bundle); err != nil {
		t.Fatal(err)
	}
	blobs := tp.blobKeys(t, in.code)
	mk := tp.mark(t)

	// The very same request again: 200 (not 201), the same receipt bytes.
	body, _ := json.Marshal(map[string]string{
		"manifest": base64.StdEncoding.EncodeToString(bundle.Manifest), "signature": base64.StdEncoding.EncodeToString(bundle.ManifestSignature),
	})
	resp := tp.raw(t, in).do(http.MethodPost, "/v1/submissions", map[string]string{"Content-Type": "application/json"}, body)
	if resp.status != http.StatusOK {
		t.Fatalf("replay: HTTP %d %s", resp.status, resp.body)
	}
	var view client.SubmissionView
	if err := json.Unmarshal(resp.body, &view); err != nil {
		t.Fatal(err)
	}
	if view.Status != ronghe.SubmissionAccepted || !bytes.Equal(view.Receipt, receipt) {
		t.Fatalf("replay view: %s, receipt %s", view.Status, view.Receipt)
	}
	again, err := in.c.Receipt(bg, first.Manifest.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Marshal(), receipt) {
		t.Fatal("GET receipt after the replay differs")
	}
	// Submitting the batch again (a new manifest of the same files).
	res, err := in.c.Submit(bg, dir, client.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Receipt.Marshal(), receipt) {
		t.Fatal("submit of the same batch returned another receipt")
	}
	// Complete again.
	if v, err := in.c.Complete(bg, first.Manifest.MessageID); err != nil || !bytes.Equal(v.Receipt, receipt) {
		t.Fatalf("complete again: %v", err)
	}
	if n := tp.loggedSince(t, mk); n != 0 {
		t.Fatalf("replays logged %d entries", n)
	}
	if got := tp.blobKeys(t, in.code); strings.Join(got, ",") != strings.Join(blobs, ",") {
		t.Fatalf("blobs changed by the replay: %v → %v", blobs, got)
	}
	// The same message ID with changed content is a conflict, and changes nothing.
	os.WriteFile(filepath.Join(dir, "ACCT.csv"), content("b", 10), 0o644)
	_, err = in.c.Submit(bg, dir, client.SubmitOptions{})
	wantProblem(t, err, 409, ronghe.ECONFLICT)
	if n := tp.loggedSince(t, mk+1); n != 0 {
		t.Fatalf("the conflict logged %d entries", n)
	}
}

// TestE2EUnknownInstitution presents certificates the platform CA issued
// but whose institution the platform does not know.
func TestE2EUnknownInstitution(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	known := tp.onboard(t, ronghe.SuiteGM)
	for _, tc := range []struct {
		name     string
		register bool // the certificate is on record, the institution is not
	}{
		{"certificate never registered", false},
		{"institution never created or removed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := newCode()
			issued, err := tp.p.keys.ca.IssueClient(code, "无此机构", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if tc.register {
				if err := tp.p.db.AddCertificate(bg, &issued.Certificate); err != nil {
					t.Fatal(err)
				}
			}
			prof := *known.prof
			prof.Institution, prof.CertPEM, prof.KeyPEM = code, issued.CertPEM, issued.KeyPEM
			c := newClient(t, &prof)
			_, err = c.Mailbox(bg, false)
			wantProblem(t, err, 401, ronghe.EUNAUTHORIZED)
			_, err = c.Submission(bg, code+"_20250301_1")
			wantProblem(t, err, 401, ronghe.EUNAUTHORIZED)
			mk := tp.mark(t)
			dir := batchDir(t, code, 1, map[string][]byte{"TXN.csv": content("x", 100)})
			_, err = c.Submit(bg, dir, client.SubmitOptions{})
			wantProblem(t, err, 401, ronghe.EUNAUTHORIZED)
			tp.nothingStored(t, code, code+"_20250301_1", mk)
		})
	}
}

func TestE2ERevokedKey(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteINTL)
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": content("k", 1000)})
	key := in.prof.Signer.PublicKey().Fingerprint()
	code, out, errOut := runCommand(t, "admin", "key", "revoke", "--data", tp.dir, "--origin", "ronghe.test/log",
		"--institution", in.code, "--key", key, "--reason", "lost")
	if code != 0 {
		t.Fatalf("admin key revoke: exit %d: %s%s", code, out, errOut)
	}
	mk := tp.mark(t)
	_, err := in.c.Submit(bg, dir, client.SubmitOptions{})
	p := wantProblem(t, err, 403, ronghe.EEXPIRED)
	if !strings.Contains(p.Detail, key) {
		t.Fatalf("detail %q does not name the key", p.Detail)
	}
	tp.nothingStored(t, in.code, in.code+"_20250301_1", mk)
}

func TestE2EExpiredClientCertificate(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	// A certificate of the CA, on record, whose validity is over.
	issued, err := tp.p.keys.ca.IssueClient(in.code, "过期", -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !issued.Certificate.NotAfter.Before(time.Now()) {
		t.Fatalf("certificate valid until %s", issued.Certificate.NotAfter)
	}
	if err := tp.p.db.AddCertificate(bg, &issued.Certificate); err != nil {
		t.Fatal(err)
	}
	prof := *in.prof
	prof.CertPEM, prof.KeyPEM = issued.CertPEM, issued.KeyPEM
	c := newClient(t, &prof)
	mk := tp.mark(t)
	_, err = c.Mailbox(bg, false)
	if err == nil {
		t.Fatal("a request with an expired certificate was served")
	}
	var p *client.Problem
	if errors.As(err, &p) {
		t.Fatalf("the handshake should be refused, got an HTTP answer: %v", p)
	}
	// With TLS 1.3 the client finishes its side of the handshake before the
	// server has judged its certificate: the server's alert naming it races
	// the client's first write, which may instead find the connection
	// closed (broken pipe, reset). Either way nothing was served.
	if msg := err.Error(); !strings.Contains(msg, "certificate") && !strings.Contains(msg, "broken pipe") && !strings.Contains(msg, "connection reset") {
		t.Fatalf("error %v does not name the certificate", err)
	}
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": content("x", 100)})
	if _, err := c.Submit(bg, dir, client.SubmitOptions{}); err == nil {
		t.Fatal("submit with an expired certificate succeeded")
	}
	tp.nothingStored(t, in.code, in.code+"_20250301_1", mk)
}

func TestE2ERevokedCertificate(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": content("r", 1000)})
	raw, sig, m := signedManifest(t, in, dir, nil)
	if _, err := in.c.PostManifest(bg, raw, sig); err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertificatePEM(in.prof.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCommand(t, "admin", "cert", "revoke", "--data", tp.dir, "--serial", pki.SerialHex(cert.SerialNumber))
	if code != 0 {
		t.Fatalf("admin cert revoke: exit %d: %s%s", code, out, errOut)
	}
	mk := tp.mark(t)
	// The next request, on the same kept-alive connection, is refused.
	_, err = in.c.Submission(bg, m.MessageID)
	wantProblem(t, err, 401, ronghe.EUNAUTHORIZED)
	_, err = in.c.Submit(bg, dir, client.SubmitOptions{})
	wantProblem(t, err, 401, ronghe.EUNAUTHORIZED)
	if s := tp.staged(t); len(s) != 0 {
		t.Fatalf("staged: %v", s)
	}
	if n := tp.loggedSince(t, mk); n != 0 {
		t.Fatalf("logged %d", n)
	}
	// A new certificate for the same institution works again.
	pdir := filepath.Join(t.TempDir(), "renewed")
	if code, out, errOut := runCommand(t, "admin", "cert", "issue", "--data", tp.dir, "--institution", in.code, "--out", pdir, "--days", "1"); code != 0 {
		t.Fatalf("admin cert issue: exit %d: %s%s", code, out, errOut)
	}
	prof := *in.prof
	prof.CertPEM, _ = os.ReadFile(filepath.Join(pdir, client.CertFile))
	prof.KeyPEM, _ = os.ReadFile(filepath.Join(pdir, client.KeyFile))
	if _, err := newClient(t, &prof).Submission(bg, m.MessageID); err != nil {
		t.Fatalf("with the renewed certificate: %v", err)
	}
}

// TestE2EOtherTenant asks for another institution's objects: the answer is
// the 404 a nonexistent object gets, in the same words, and the owner's
// objects are untouched.
func TestE2EOtherTenant(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	owner := tp.onboard(t, ronghe.SuiteGM)
	intruder := tp.onboard(t, ronghe.SuiteINTL)
	data := content("mine", 200<<10)
	dir := batchDir(t, owner.code, 1, map[string][]byte{"TXN.csv": data})
	raw, sig, m := signedManifest(t, owner, dir, nil)
	if _, err := owner.c.PostManifest(bg, raw, sig); err != nil {
		t.Fatal(err)
	}
	ro, ri := tp.raw(t, owner), tp.raw(t, intruder)
	upload := ro.mustCreateUpload(m.MessageID, "TXN.csv", int64(len(data)))
	chunk := tp.p.uploads.ChunkSize()
	if resp := ro.patch(upload, 0, data[:chunk]); resp.status != http.StatusNoContent {
		t.Fatalf("owner's PATCH: HTTP %d %s", resp.status, resp.body)
	}
	msg, err := tp.p.exch.Deliver(bg, owner.code, "exchange.note", "仅本行可见", "", "text/plain", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	mk := tp.mark(t)

	// same reports that the intruder's answer for the owner's object and
	// for a nonexistent one are the same 404, up to the ID itself.
	same := func(what string, theirs, none *response, theirID, noneID string) {
		t.Helper()
		pt := theirs.problem(t, 404, ronghe.ENOTFOUND)
		pn := none.problem(t, 404, ronghe.ENOTFOUND)
		if strings.ReplaceAll(pt.Detail, theirID, "ID") != strings.ReplaceAll(pn.Detail, noneID, "ID") || pt.Title != pn.Title {
			t.Fatalf("%s: another tenant's object answers %q, a nonexistent one %q", what, pt.Detail, pn.Detail)
		}
	}
	noneMsg := owner.code + "_20250301_9"
	for _, path := range []string{"/v1/submissions/%s", "/v1/submissions/%s/receipt", "/v1/submissions/%s/evidence"} {
		same(path, ri.do("GET", fmt.Sprintf(path, m.MessageID), nil, nil), ri.do("GET", fmt.Sprintf(path, noneMsg), nil, nil), m.MessageID, noneMsg)
	}
	same("complete", ri.do("POST", "/v1/submissions/"+m.MessageID+"/complete", nil, nil), ri.do("POST", "/v1/submissions/"+noneMsg+"/complete", nil, nil), m.MessageID, noneMsg)
	same("upload for the owner's message", ri.createUpload(m.MessageID, "TXN.csv", int64(len(data))), ri.createUpload(noneMsg, "TXN.csv", int64(len(data))), m.MessageID, noneMsg)

	noneUp := randomUploadID()
	same("PATCH", ri.patch(upload, int64(chunk), data[chunk:2*chunk]), ri.patch(noneUp, int64(chunk), data[chunk:2*chunk]), upload, noneUp)
	same("DELETE", ri.do("DELETE", httpapi.UploadsPath+upload, tusHeaders(nil), nil), ri.do("DELETE", httpapi.UploadsPath+noneUp, tusHeaders(nil), nil), upload, noneUp)
	st1, _ := ri.head(upload)
	st2, _ := ri.head(noneUp)
	if st1 != 404 || st2 != 404 {
		t.Fatalf("HEAD of another tenant's upload: %d, of none: %d", st1, st2)
	}

	noneMB := "MB20250301000000000000000000000000"
	same("mailbox message", ri.do("GET", "/v1/mailbox/"+msg.ID, nil, nil), ri.do("GET", "/v1/mailbox/"+noneMB, nil, nil), msg.ID, noneMB)
	ack := []byte(`{"payload":"e30=","signatures":[{"key_id":"x","suite":"INTL","sig":"AA=="}]}`)
	ct := map[string]string{"Content-Type": "application/json"}
	same("ack", ri.do("POST", "/v1/mailbox/"+msg.ID+"/ack", ct, ack), ri.do("POST", "/v1/mailbox/"+noneMB+"/ack", ct, ack), msg.ID, noneMB)
	if list, err := intruder.c.Mailbox(bg, false); err != nil || len(list) != 0 {
		t.Fatalf("intruder's mailbox: %d messages, %v", len(list), err)
	}

	// The owner's upload and message are as they were; nothing was logged.
	if st, off := ro.head(upload); st != 200 || off != int64(chunk) {
		t.Fatalf("owner's upload after the intrusion: HTTP %d offset %d", st, off)
	}
	if got, err := owner.c.FetchMessage(bg, msg.ID); err != nil || got.AckedAt != nil {
		t.Fatalf("owner's message: %v", err)
	}
	if n := tp.loggedSince(t, mk); n != 0 {
		t.Fatalf("intrusion logged %d entries", n)
	}
	if b := tp.blobKeys(t, intruder.code); len(b) != 0 {
		t.Fatalf("intruder has blobs %v", b)
	}
	res, err := owner.c.Submit(bg, dir, client.SubmitOptions{})
	if err != nil || !res.Verified {
		t.Fatalf("owner completes: %v", err)
	}
}

func TestE2EPathTraversalInManifest(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": content("p", 100)})
	for _, name := range []string{"../TXN.csv", "a/b.csv", "TXN.csv\x00", "/TXN.csv", `..\TXN.csv`, "../../blobs/TXN.csv"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			raw, sig, m := signedManifest(t, in, dir, func(m *ronghe.Manifest) { m.Files[0].Name = name })
			mk := tp.mark(t)
			_, err := in.c.PostManifest(bg, raw, sig)
			p := wantProblem(t, err, 400, ronghe.EINVALID)
			if !strings.Contains(p.Detail, "file name") {
				t.Fatalf("detail %q", p.Detail)
			}
			tp.nothingStored(t, in.code, m.MessageID, mk)
		})
	}
}

func TestE2EOversize(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	small := tp.onboard(t, ronghe.SuiteGM)
	if _, err := tp.p.db.SQL().Exec(`UPDATE institutions SET max_file_bytes = ? WHERE code = ?`, 1000, small.code); err != nil {
		t.Fatal(err)
	}
	t.Run("manifest over the institution's limit", func(t *testing.T) {
		dir := batchDir(t, small.code, 1, map[string][]byte{"TXN.csv": content("big", 1001), "CTL.csv": content("c", 10)})
		mk := tp.mark(t)
		_, err := small.c.Submit(bg, dir, client.SubmitOptions{})
		p := wantProblem(t, err, 413, ronghe.ETOOLARGE)
		if !strings.Contains(p.Detail, "TXN.csv") {
			t.Fatalf("detail %q", p.Detail)
		}
		tp.nothingStored(t, small.code, small.code+"_20250301_1", mk)
		// At the limit it goes through.
		os.WriteFile(filepath.Join(dir, "TXN.csv"), content("big", 1000), 0o644)
		if _, err := small.c.Submit(bg, dir, client.SubmitOptions{}); err != nil {
			t.Fatalf("at the limit: %v", err)
		}
	})
	t.Run("Upload-Length over the declared size", func(t *testing.T) {
		in := tp.onboard(t, ronghe.SuiteINTL)
		data := content("len", 5000)
		dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": data})
		raw, sig, m := signedManifest(t, in, dir, nil)
		if _, err := in.c.PostManifest(bg, raw, sig); err != nil {
			t.Fatal(err)
		}
		mk := tp.mark(t)
		r := tp.raw(t, in)
		r.createUpload(m.MessageID, "TXN.csv", int64(len(data))+1).problem(t, 413, ronghe.ETOOLARGE)
		r.createUpload(m.MessageID, "TXN.csv", 1<<40).problem(t, 413, ronghe.ETOOLARGE)
		r.createUpload(m.MessageID, "TXN.csv", int64(len(data))-1).problem(t, 400, ronghe.EINVALID)
		r.createUpload(m.MessageID, "ACCT.csv", 10).problem(t, 404, ronghe.ENOTFOUND)
		sub, err := tp.p.db.FindSubmission(bg, in.code, m.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Files[0].UploadID != "" || sub.Files[0].Done {
			t.Fatalf("a refused upload was recorded: %+v", sub.Files[0])
		}
		if s := tp.staged(t); len(s) != 0 {
			t.Fatalf("staged: %v", s)
		}
		if n := tp.loggedSince(t, mk); n != 0 {
			t.Fatalf("logged %d", n)
		}
		// A PATCH longer than the upload is refused too, and the upload kept.
		id := r.mustCreateUpload(m.MessageID, "TXN.csv", int64(len(data)))
		resp := r.patch(id, 0, append(bytes.Clone(data), 'x'))
		resp.problem(t, 413, ronghe.ETOOLARGE)
		if st, off := r.head(id); st != 200 || off != 0 {
			t.Fatalf("after an overlong PATCH: HTTP %d offset %d", st, off)
		}
		if res, err := in.c.Submit(bg, dir, client.SubmitOptions{}); err != nil || !res.Verified {
			t.Fatalf("submit after the refusals: %v", err)
		}
	})
}

// TestE2EEncodingDeclaredWrong submits GB18030 bytes declared as UTF-8. The
// exchange accepts and receipts the bytes as signed (docs/rrs-decisions.md,
// Exchange 8); reading the stored file as declared reports the wrong
// declaration with file and line, and the same bytes read as GB18030 are fine.
func TestE2EEncodingDeclaredWrong(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	rt := rrs.Current().Record(rrs.TXN)
	header := strings.Join(rt.Names(), ",")
	text := header + "\n" + "ascii" + strings.Repeat(",", len(rt.Names())-1) + "\n" +
		"中国工商银行广州分行" + strings.Repeat(",", len(rt.Names())-1) + "\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	dir := batchDir(t, in.code, 1, map[string][]byte{"TXN.csv": gb})
	res, err := in.c.Submit(bg, dir, client.SubmitOptions{Manifest: client.ManifestOptions{Encoding: "UTF-8"}})
	if err != nil {
		t.Fatalf("the exchange refused bytes it does not interpret: %v", err)
	}
	if !res.Verified || res.Manifest.Encoding != "UTF-8" {
		t.Fatalf("result %+v", res.Manifest)
	}
	stored := tp.blob(t, exchange.BlobKey(in.code, res.Manifest.MessageID, "TXN.csv"))
	if !bytes.Equal(stored, gb) {
		t.Fatal("the platform changed the bytes it received")
	}

	read := func(enc rrs.Encoding) error {
		r, err := rrs.NewReader(bytes.NewReader(stored), rt, enc, "TXN.csv")
		if err != nil {
			return err
		}
		defer r.Close()
		for {
			_, err := r.Next()
			if err != nil {
				var pe *rrs.ParseError
				if errors.As(err, &pe) && pe.Recoverable() {
					continue
				}
				if err.Error() == "EOF" {
					return nil
				}
				return err
			}
		}
	}
	err = read(rrs.Encoding(res.Manifest.Encoding))
	var pe *rrs.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, rrs.ErrEncoding) {
		t.Fatalf("reading as declared: %v, want an encoding error", err)
	}
	if pe.File != "TXN.csv" || pe.Line != 3 || !strings.Contains(err.Error(), "GB18030") {
		t.Fatalf("encoding error %q at %s:%d, want TXN.csv:3 advising GB18030", err, pe.File, pe.Line)
	}
	if err := read(rrs.GB18030); errors.Is(err, rrs.ErrEncoding) {
		t.Fatalf("read as GB18030: %v", err)
	}
}

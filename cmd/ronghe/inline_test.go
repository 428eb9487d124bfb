package main

// End-to-end tests of the one-request submission (multipart/form-data POST
// /v1/submissions): every refusal the manifest and tus paths give, given by
// this path as the same RFC 9457 problem, with nothing stored.

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/exchange"
	"github.com/ronghe/ronghe/httpapi"
)

// part is one part of a hand-written one-request submission.
type part struct {
	name, filename string
	body           []byte
}

// inline posts the parts as multipart/form-data to /v1/submissions.
func (r *raw) inline(parts ...part) *response {
	r.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := "form-data; name=" + strconv.Quote(p.name)
		if p.filename != "" {
			disp += "; filename=" + strconv.Quote(p.filename)
		}
		h.Set("Content-Disposition", disp)
		w, err := mw.CreatePart(h)
		if err != nil {
			r.t.Fatal(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return r.do(http.MethodPost, "/v1/submissions", map[string]string{"Content-Type": mw.FormDataContentType()}, buf.Bytes())
}

// batchParts are the parts of a whole batch: manifest, signature, files.
func batchParts(raw, sig []byte, files map[string][]byte) []part {
	ps := []part{{name: httpapi.PartManifest, body: raw}, {name: httpapi.PartSignature, body: sig}}
	for name, b := range files {
		ps = append(ps, part{name: httpapi.PartFile, filename: name, body: b})
	}
	return ps
}

func TestE2EInline(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	in := tp.onboard(t, ronghe.SuiteGM)
	intl := tp.onboard(t, ronghe.SuiteINTL)

	t.Run("accepted with a verified receipt in one request, replay idempotent", func(t *testing.T) {
		files := map[string][]byte{"TXN.csv": content("one", 1024), "CTL.csv": content("ctl", 10)}
		dir := batchDir(t, in.code, 1, files)
		raw, sig, m := signedManifest(t, in, dir, nil)
		r := tp.raw(t, in)
		mk := tp.mark(t)
		resp := r.inline(batchParts(raw, sig, files)...)
		if resp.status != http.StatusCreated {
			t.Fatalf("HTTP %d %s", resp.status, resp.body)
		}
		var view client.SubmissionView
		if err := json.Unmarshal(resp.body, &view); err != nil {
			t.Fatal(err)
		}
		if view.Status != ronghe.SubmissionAccepted || len(view.Receipt) == 0 {
			t.Fatalf("view %+v", view)
		}
		rec, err := evidence.Parse(view.Receipt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.verifier(t).Receipt(rec); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if got := tp.blob(t, exchange.BlobKey(in.code, m.MessageID, name)); !bytes.Equal(got, b) {
				t.Fatalf("stored %s is not the file sent", name)
			}
		}
		if s := tp.staged(t); len(s) != 0 {
			t.Fatalf("the one-request path staged uploads: %v", s)
		}
		if *view.LogIndex <= mk {
			t.Fatalf("log index %d, logged before the request (%d)", *view.LogIndex, mk)
		}
		// The same request again: 200, the same receipt, nothing logged.
		mk = tp.mark(t)
		again := r.inline(batchParts(raw, sig, files)...)
		var view2 client.SubmissionView
		if again.status != http.StatusOK || json.Unmarshal(again.body, &view2) != nil || !bytes.Equal(view2.Receipt, view.Receipt) {
			t.Fatalf("replay: HTTP %d %s", again.status, again.body)
		}
		// The receipt stored is the one returned.
		if got, err := in.c.Receipt(bg, m.MessageID); err != nil || !bytes.Equal(got.Marshal(), rec.Marshal()) {
			t.Fatalf("GET receipt: %v", err)
		}
		// client.Submit of the same batch (a new manifest): the stored receipt.
		res, err := in.c.Submit(bg, dir, client.SubmitOptions{})
		if err != nil || !bytes.Equal(res.Receipt.Marshal(), rec.Marshal()) {
			t.Fatalf("Submit of the same batch: %v", err)
		}
		// Another manifest under the message ID: 409.
		os.WriteFile(filepath.Join(dir, "CTL.csv"), content("other", 10), 0o644)
		raw2, sig2, _ := signedManifest(t, in, dir, nil)
		r.inline(batchParts(raw2, sig2, map[string][]byte{"TXN.csv": files["TXN.csv"], "CTL.csv": content("other", 10)})...).problem(t, 409, ronghe.ECONFLICT)
		if n := tp.loggedSince(t, mk); n != 0 {
			t.Fatalf("replays logged %d entries", n)
		}
	})

	t.Run("client.Submit takes the one-request path for a small batch and tus for a large one", func(t *testing.T) {
		small := batchDir(t, intl.code, 2, map[string][]byte{"TXN.csv": content("s", 2000)})
		res, err := intl.c.Submit(bg, small, client.SubmitOptions{})
		if err != nil || !res.Verified {
			t.Fatalf("small: %v", err)
		}
		sub, err := tp.p.db.FindSubmission(bg, intl.code, res.Manifest.MessageID)
		if err != nil || sub.Files[0].UploadID != "" {
			t.Fatalf("small batch went over tus: %+v, %v", sub, err)
		}
		large := batchDir(t, intl.code, 3, map[string][]byte{"TXN.csv": content("l", 3000)})
		res, err = intl.c.Submit(bg, large, client.SubmitOptions{InlineMax: 2999})
		if err != nil || !res.Verified {
			t.Fatalf("large: %v", err)
		}
		if sub, err = tp.p.db.FindSubmission(bg, intl.code, res.Manifest.MessageID); err != nil || sub.Files[0].UploadID == "" {
			t.Fatalf("batch over InlineMax did not go over tus: %+v, %v", sub, err)
		}
	})

}

// TestE2EInlineRefusals runs on a platform that accepts nothing, so that no
// background work (quality reports of accepted batches) appends to the log.
func TestE2EInlineRefusals(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)

	// Each refusal is the problem the manifest or tus path gives, and leaves
	// nothing behind: no submission, no upload, no blob, no log entry.
	refuse := []struct {
		name   string
		status int
		code   string
		detail string
		mod    func(m *ronghe.Manifest)
		parts  func(raw, sig []byte, files map[string][]byte) []part
	}{
		{name: "bad signature", status: 422, code: ronghe.EINTEGRITY, detail: "signature",
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				bad := bytes.Clone(sig)
				bad[len(bad)/2] ^= 1
				return batchParts(raw, bad, files)
			}},
		{name: "wrong digest", status: 422, code: ronghe.EINTEGRITY, detail: "TXN.csv",
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				b := bytes.Clone(files["TXN.csv"])
				b[10] ^= 1
				return batchParts(raw, sig, map[string][]byte{"TXN.csv": b})
			}},
		{name: "wrong size", status: 422, code: ronghe.EINTEGRITY, detail: "TXN.csv",
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				return batchParts(raw, sig, map[string][]byte{"TXN.csv": append(bytes.Clone(files["TXN.csv"]), 'x')})
			}},
		{name: "file missing", status: 400, code: ronghe.EINVALID, detail: "TXN.csv",
			parts: func(raw, sig []byte, files map[string][]byte) []part { return batchParts(raw, sig, nil) }},
		{name: "file not in the manifest", status: 400, code: ronghe.EINVALID, detail: "ACCT.csv",
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				return batchParts(raw, sig, map[string][]byte{"TXN.csv": files["TXN.csv"], "ACCT.csv": []byte("a")})
			}},
		{name: "path traversal in the part", status: 400, code: ronghe.EINVALID, detail: "../TXN.csv",
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				return batchParts(raw, sig, map[string][]byte{"../TXN.csv": files["TXN.csv"]})
			}},
		{name: "path traversal in the manifest", status: 400, code: ronghe.EINVALID, detail: "file name",
			mod: func(m *ronghe.Manifest) { m.Files[0].Name = "../TXN.csv" },
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				return batchParts(raw, sig, map[string][]byte{"../TXN.csv": files["TXN.csv"]})
			}},
		{name: "no signature", status: 400, code: ronghe.EINVALID, detail: "signature",
			parts: func(raw, sig []byte, files map[string][]byte) []part { return batchParts(raw, nil, files)[0:1] }},
		{name: "unknown part", status: 400, code: ronghe.EINVALID, detail: "unknown part",
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				return append(batchParts(raw, sig, files), part{name: "extra", body: []byte("x")})
			}},
		{name: "over the inline limit", status: 413, code: ronghe.ETOOLARGE, detail: "tus",
			parts: func(raw, sig []byte, files map[string][]byte) []part {
				return batchParts(raw, sig, map[string][]byte{"TXN.csv": files["TXN.csv"], "ACCT.csv": make([]byte, httpapi.DefaultMaxInlineBytes+1)})
			}},
	}
	for i, tc := range refuse {
		t.Run(tc.name, func(t *testing.T) {
			in := tp.onboard(t, ronghe.SuiteGM) // nothingStored looks at all of its blobs
			files := map[string][]byte{"TXN.csv": content("r", 3000)}
			dir := batchDir(t, in.code, 100+i, files)
			raw, sig, m := signedManifest(t, in, dir, tc.mod)
			mk := tp.mark(t)
			p := tp.raw(t, in).inline(tc.parts(raw, sig, files)...).problem(t, tc.status, tc.code)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q does not mention %q", p.Detail, tc.detail)
			}
			tp.nothingStored(t, in.code, m.MessageID, mk)
		})
	}

	t.Run("another institution's manifest", func(t *testing.T) {
		in, intl := tp.onboard(t, ronghe.SuiteGM), tp.onboard(t, ronghe.SuiteINTL)
		files := map[string][]byte{"TXN.csv": content("x", 100)}
		dir := batchDir(t, in.code, 200, files)
		raw, sig, m := signedManifest(t, in, dir, nil)
		mk := tp.mark(t)
		// The owner's own signed manifest, sent over the intruder's connection.
		tp.raw(t, intl).inline(batchParts(raw, sig, files)...).problem(t, 403, ronghe.EFORBIDDEN)
		tp.nothingStored(t, in.code, m.MessageID, mk)
		if _, err := tp.p.db.FindSubmission(bg, intl.code, m.MessageID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Fatalf("stored under the intruder: %v", err)
		}
	})

	t.Run("over the institution's file limit", func(t *testing.T) {
		small := tp.onboard(t, ronghe.SuiteINTL)
		if _, err := tp.p.db.SQL().Exec(`UPDATE institutions SET max_file_bytes = ? WHERE code = ?`, 1000, small.code); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{"TXN.csv": content("big", 1001)}
		dir := batchDir(t, small.code, 1, files)
		raw, sig, m := signedManifest(t, small, dir, nil)
		mk := tp.mark(t)
		p := tp.raw(t, small).inline(batchParts(raw, sig, files)...).problem(t, 413, ronghe.ETOOLARGE)
		if !strings.Contains(p.Detail, "TXN.csv") {
			t.Fatalf("detail %q", p.Detail)
		}
		tp.nothingStored(t, small.code, m.MessageID, mk)
	})

}

func TestE2EInlineBesideOthers(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t)
	intl := tp.onboard(t, ronghe.SuiteINTL)
	t.Run("over the quota", func(t *testing.T) {
		q := tp.onboard(t, ronghe.SuiteGM)
		if _, err := tp.p.db.SQL().Exec(`UPDATE institutions SET quota_bytes = ? WHERE code = ?`, 1500, q.code); err != nil {
			t.Fatal(err)
		}
		first := batchDir(t, q.code, 1, map[string][]byte{"TXN.csv": content("q", 1000)})
		if _, err := q.c.Submit(bg, first, client.SubmitOptions{}); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{"TXN.csv": content("q2", 1000)}
		dir := batchDir(t, q.code, 2, files)
		raw, sig, m := signedManifest(t, q, dir, nil)
		mk := tp.mark(t)
		blobs := tp.blobKeys(t, q.code)
		_ = mk
		p := tp.raw(t, q).inline(batchParts(raw, sig, files)...).problem(t, 413, ronghe.ETOOLARGE)
		if !strings.Contains(p.Detail, "quota") {
			t.Fatalf("detail %q", p.Detail)
		}
		if _, err := tp.p.db.FindSubmission(bg, q.code, m.MessageID); ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			t.Fatalf("submission over the quota: %v", err)
		}
		if got := tp.blobKeys(t, q.code); strings.Join(got, ",") != strings.Join(blobs, ",") {
			t.Fatalf("blobs %v → %v", blobs, got)
		}

	})

	t.Run("a file already uploading over tus", func(t *testing.T) {
		data := content("mix", 200<<10)
		files := map[string][]byte{"TXN.csv": data}
		dir := batchDir(t, intl.code, 300, files)
		raw, sig, m := signedManifest(t, intl, dir, nil)
		if _, err := intl.c.PostManifest(bg, raw, sig); err != nil {
			t.Fatal(err)
		}
		r := tp.raw(t, intl)
		id := r.mustCreateUpload(m.MessageID, "TXN.csv", int64(len(data)))
		if resp := r.patch(id, 0, data[:tp.p.uploads.ChunkSize()]); resp.status != http.StatusNoContent {
			t.Fatalf("PATCH: HTTP %d", resp.status)
		}
		mk := tp.mark(t)
		resp := r.inline(batchParts(raw, sig, files)...)
		if resp.status != http.StatusOK {
			t.Fatalf("HTTP %d %s", resp.status, resp.body)
		}
		var view client.SubmissionView
		if err := json.Unmarshal(resp.body, &view); err != nil {
			t.Fatal(err)
		}
		if got := tp.blob(t, exchange.BlobKey(intl.code, m.MessageID, "TXN.csv")); !bytes.Equal(got, data) {
			t.Fatal("stored file differs")
		}
		// The rest of the tus upload finds the file stored: it is dropped.
		resp = r.patch(id, int64(tp.p.uploads.ChunkSize()), data[tp.p.uploads.ChunkSize():])
		if resp.status != http.StatusNoContent && resp.status != http.StatusNotFound && resp.status != http.StatusConflict {
			t.Fatalf("late PATCH: HTTP %d %s", resp.status, resp.body)
		}
		// complete gives the receipt the one-request answer carried.
		if v, err := intl.c.Complete(bg, m.MessageID); err != nil || !bytes.Equal(v.Receipt, view.Receipt) || *v.LogIndex <= mk {
			t.Fatalf("complete after the one-request path: %v", err)
		}
	})
}

package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/suite"
)

// Upload-Metadata keys the platform's tus endpoint expects.
const (
	MetaMessageID = "message_id"
	MetaFile      = "file"
)

// creationWithUploadMax is the largest file sent in the request that creates
// its upload; a larger one is created empty and sent by PATCH.
const creationWithUploadMax = 1 << 20

// Client is an institution's connection to the platform over mutual TLS.
type Client struct {
	p    *Profile
	http *http.Client
	base string

	verifyOnce sync.Once
	verify     *Verifier
	verifyErr  error
}

// New returns a client for the profile. Only the profile's CA is trusted.
func New(p *Profile) (*Client, error) {
	cfg, err := pki.ClientTLS(p.CAPEM, p.CertPEM, p.KeyPEM)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		TLSClientConfig:     cfg,
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      64 << 10,
	}
	return &Client{p: p, http: &http.Client{Transport: tr}, base: strings.TrimRight(p.Server, "/")}, nil
}

// Problem is an RFC 9457 problem returned by the platform.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%s (HTTP %d): %s", p.Title, p.Status, p.Detail)
	}
	return fmt.Sprintf("%s (HTTP %d)", p.Title, p.Status)
}

// asError turns a non-2xx response into an *ronghe.Error carrying the problem.
func asError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	p := &Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	if json.Unmarshal(b, p) != nil || p.Detail == "" && p.Code == "" {
		p.Detail = strings.TrimSpace(string(b))
	}
	code := p.Code
	if code == "" {
		code = codeForStatus(resp.StatusCode)
	}
	return &ronghe.Error{Code: code, Message: p.Error(), Err: p}
}

func codeForStatus(status int) string {
	switch status {
	case 400:
		return ronghe.EINVALID
	case 401:
		return ronghe.EUNAUTHORIZED
	case 403:
		return ronghe.EFORBIDDEN
	case 404:
		return ronghe.ENOTFOUND
	case 409:
		return ronghe.ECONFLICT
	case 413:
		return ronghe.ETOOLARGE
	case 415:
		return ronghe.EUNSUPPORTED
	case 422:
		return ronghe.EINTEGRITY
	case 429:
		return ronghe.ERATELIMIT
	case 503:
		return ronghe.EUNAVAILABLE
	}
	return ronghe.EINTERNAL
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
// It returns the status for callers that distinguish 200 from 201 or 202.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot reach "+c.base+": "+err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, asError(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("client: decoding %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Platform fetches the platform's public identity. A party pins it once (at
// onboarding, through a trusted channel) and verifies against the pin after.
func (c *Client) Platform(ctx context.Context) (*ronghe.PlatformInfo, error) {
	var info ronghe.PlatformInfo
	_, err := c.do(ctx, http.MethodGet, "/v1/platform", nil, &info)
	return &info, err
}

// SubmissionView is the platform's view of a submission.
type SubmissionView struct {
	MessageID  string                  `json:"message_id"`
	Status     string                  `json:"status"`
	Files      []ronghe.SubmissionFile `json:"files"`
	CreatedAt  time.Time               `json:"created_at"`
	AcceptedAt *time.Time              `json:"accepted_at,omitempty"`
	LogIndex   *uint64                 `json:"log_index,omitempty"`
	UploadURL  string                  `json:"upload_url,omitempty"`
	Receipt    json.RawMessage         `json:"receipt,omitempty"`
}

// PostManifest sends a signed manifest; it is safe to repeat.
func (c *Client) PostManifest(ctx context.Context, manifest, signature []byte) (*SubmissionView, error) {
	var v SubmissionView
	_, err := c.do(ctx, http.MethodPost, "/v1/submissions", map[string]string{
		"manifest":  base64.StdEncoding.EncodeToString(manifest),
		"signature": base64.StdEncoding.EncodeToString(signature),
	}, &v)
	return &v, err
}

// DefaultInlineMax is the batch size up to which Submit sends the manifest,
// signature and files in one request: the platform's default inline limit.
const DefaultInlineMax = 4 << 20

// PostBatch sends a small batch whole: the signed manifest, the signature
// and every file in one multipart/form-data request. The platform checks the
// files against the manifest, stores them, logs the acceptance and answers
// with the receipt in the view. It is safe to repeat.
func (c *Client) PostBatch(ctx context.Context, manifest, signature []byte, files []SourceFile) (*SubmissionView, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	add := func(name, filename string, body func(io.Writer) error) error {
		h := textproto.MIMEHeader{}
		disp := "form-data; name=" + strconv.Quote(name)
		if filename != "" {
			disp += "; filename=" + strconv.Quote(filename)
		}
		h.Set("Content-Disposition", disp)
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		return body(w)
	}
	bytesOf := func(b []byte) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(b); return err }
	}
	if err := add("manifest", "", bytesOf(manifest)); err != nil {
		return nil, err
	}
	if err := add("signature", "", bytesOf(signature)); err != nil {
		return nil, err
	}
	for i := range files {
		f := &files[i]
		err := add("file", f.Name, func(w io.Writer) error {
			rc, err := f.OpenAt(0)
			if err != nil {
				return err
			}
			defer rc.Close()
			n, err := io.Copy(w, io.LimitReader(rc, f.Size))
			if err == nil && n != f.Size {
				err = ronghe.Errorf(ronghe.EINVALID, "%s changed while it was sent: %d bytes, not %d", f.Name, n, f.Size)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/submissions", bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot reach "+c.base+": "+err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, asError(resp)
	}
	var v SubmissionView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, fmt.Errorf("client: decoding POST /v1/submissions: %w", err)
	}
	return &v, nil
}

// Complete asks the platform to finish a submission whose files have all
// arrived; it returns the view with the receipt once accepted.
func (c *Client) Complete(ctx context.Context, messageID string) (*SubmissionView, error) {
	var v SubmissionView
	_, err := c.do(ctx, http.MethodPost, "/v1/submissions/"+messageID+"/complete", nil, &v)
	return &v, err
}

// Submission returns the platform's view of one submission.
func (c *Client) Submission(ctx context.Context, messageID string) (*SubmissionView, error) {
	var v SubmissionView
	_, err := c.do(ctx, http.MethodGet, "/v1/submissions/"+messageID, nil, &v)
	return &v, err
}

// Receipt returns the signed receipt of an accepted submission.
func (c *Client) Receipt(ctx context.Context, messageID string) (*evidence.Signed, error) {
	var d evidence.Signed
	_, err := c.do(ctx, http.MethodGet, "/v1/submissions/"+messageID+"/receipt", nil, &d)
	return &d, err
}

// upload sends one file over tus, creating the upload or resuming the one the
// platform already holds for it, from the offset the platform reports.
func (c *Client) upload(ctx context.Context, messageID string, f *SourceFile, uploadID string, progress func(int64)) error {
	const tusVersion = "1.0.0"
	// told is how much of the file progress has been told of; after the
	// platform reports an offset the count is moved there (backwards when
	// the platform kept less than was sent), so the total stays the file's.
	var told atomic.Int64
	tell := func(n int64) {
		told.Add(n)
		if progress != nil {
			progress(n)
		}
	}
	at := func(pos int64) {
		if d := pos - told.Load(); d != 0 {
			tell(d)
		}
	}
	loc := ""
	resumed := uploadID != ""
	sent := false       // the creation request carried the file
	offset := int64(-1) // unknown: ask the server
	if resumed {
		loc = c.base + "/v1/uploads/" + uploadID
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/uploads/", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Tus-Resumable", tusVersion)
		req.Header.Set("Upload-Length", strconv.FormatInt(f.Size, 10))
		req.Header.Set("Upload-Metadata", MetaMessageID+" "+base64.StdEncoding.EncodeToString([]byte(messageID))+","+
			MetaFile+" "+base64.StdEncoding.EncodeToString([]byte(f.Name)))
		// A small file travels in the request that creates its upload (tus
		// creation-with-upload): one round trip instead of two.
		withBody := f.Size > 0 && f.Size <= creationWithUploadMax
		if withBody {
			rc, err := f.OpenAt(0)
			if err != nil {
				return err
			}
			defer rc.Close()
			req.Body = io.NopCloser(progressReader{ctx: ctx, r: io.LimitReader(rc, f.Size), progress: tell})
			req.ContentLength = f.Size
			req.Header.Set("Content-Type", "application/offset+octet-stream")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot create upload: "+err.Error())
		}
		if resp.StatusCode != http.StatusCreated {
			defer resp.Body.Close()
			return asError(resp)
		}
		resp.Body.Close()
		loc = resp.Header.Get("Location")
		if strings.HasPrefix(loc, "/") {
			loc = c.base + loc
		}
		offset = 0
		if withBody {
			sent = true
			// The platform keeps what it reports; the rest is sent again.
			o, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
			if err != nil || o < 0 || o > f.Size {
				o = -1 // ask
			} else {
				at(o)
			}
			if offset = o; offset == f.Size {
				return nil
			}
		}
	}
	for attempt := 0; ; {
		if offset < 0 {
			o, err := c.uploadOffset(ctx, loc)
			if ronghe.ErrorCode(err) == ronghe.ENOTFOUND {
				// The platform removes an upload once it has checked the
				// file: stored if it matched the manifest, discarded if it
				// did not. Completing says which: it also records a file
				// the platform stored but, cut short, did not note.
				v, serr := c.Complete(ctx, messageID)
				if serr != nil {
					return serr
				}
				for _, sf := range v.Files {
					if sf.Name == f.Name && sf.Done {
						at(f.Size)
						return nil
					}
				}
				at(0)
				return c.upload(ctx, messageID, f, "", progress) // discarded: send the file again
			} else if err != nil {
				if ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE || attempt >= 8 || ctx.Err() != nil {
					return err
				}
				attempt++
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
				continue
			}
			offset = o
			at(offset)
		}
		if offset == f.Size && (resumed || sent) {
			return nil
		}
		next, err := c.patch(ctx, loc, f, offset, tell)
		if err == nil {
			at(next)
			if next == f.Size {
				return nil
			}
			offset = next // the server keeps whole chunks; send the rest
			continue
		}
		if ronghe.ErrorCode(err) != ronghe.EUNAVAILABLE || attempt >= 8 || ctx.Err() != nil {
			return err
		}
		attempt++
		offset = -1
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// backoff waits before retry number attempt (attempt × 500 ms), or returns
// the context's error as soon as it is cancelled: a cancelled submission
// stops at once instead of sleeping out its retries.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(attempt) * 500 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) uploadOffset(ctx context.Context, loc string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, loc, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot reach upload: "+err.Error())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, &ronghe.Error{Code: codeForStatus(resp.StatusCode), Message: "upload " + loc + ": HTTP " + resp.Status}
	}
	return strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
}

// patch sends the file from offset and returns the offset the server
// reports afterwards (it may keep less than was sent).
func (c *Client) patch(ctx context.Context, loc string, f *SourceFile, offset int64, progress func(int64)) (int64, error) {
	rc, err := f.OpenAt(offset)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	body := progressReader{ctx: ctx, r: io.LimitReader(rc, f.Size-offset), progress: progress}
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc, io.NopCloser(body))
	if err != nil {
		return 0, err
	}
	req.ContentLength = f.Size - offset
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "upload interrupted: "+err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return 0, asError(resp)
	}
	next, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || next < offset || next > f.Size {
		return 0, ronghe.Errorf(ronghe.EINTERNAL, "server reported offset %q after PATCH at %d", resp.Header.Get("Upload-Offset"), offset)
	}
	return next, nil
}

// SubmitOptions tune Submit.
type SubmitOptions struct {
	Manifest ManifestOptions
	// InlineMax is the largest batch (files together, in bytes) sent whole
	// in one request (PostBatch) instead of over tus; 0 means
	// DefaultInlineMax, a negative value always uses tus. It must not exceed
	// the platform's inline limit (4 MiB unless configured otherwise).
	InlineMax int64
	// Progress is told of every byte hashed (phase "hash") and uploaded
	// (phase "upload"); total is the phase's byte count. Files that had
	// already arrived count as uploaded. When an interrupted upload resumes
	// at the offset the platform reports, n may be negative: the bytes sent
	// beyond that offset were lost and are sent again.
	Progress func(phase string, n, total int64)
}

// SubmitResult is a finished submission.
type SubmitResult struct {
	Manifest *ronghe.Manifest
	View     *SubmissionView
	Receipt  *evidence.Signed
	// Verified is true when the receipt was checked against the pinned
	// platform keys.
	Verified bool
}

// Submit sends the batch at path: it hashes the files, signs the manifest,
// posts it, uploads (or resumes) every file that has not arrived, completes
// the submission and verifies the receipt against the pinned platform keys.
// Running it again after any interruption picks up where it stopped.
func (c *Client) Submit(ctx context.Context, path string, opt SubmitOptions) (*SubmitResult, error) {
	src, err := OpenSource(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var total int64
	for _, f := range src.Files {
		total += f.Size
	}
	report := func(phase string) func(int64) {
		if opt.Progress == nil {
			return nil
		}
		return func(n int64) { opt.Progress(phase, n, total) }
	}
	mo := opt.Manifest
	mo.Progress = report("hash")
	manifest, m, err := BuildManifest(ctx, src, c.p.Institution, c.p.Signer, mo)
	if err != nil {
		return nil, err
	}
	sig, err := c.p.Signer.Sign(manifest)
	if err != nil {
		return nil, err
	}
	var view *SubmissionView
	inlineMax := opt.InlineMax
	if inlineMax == 0 {
		inlineMax = DefaultInlineMax
	}
	if total <= inlineMax {
		// A small batch goes whole in one request that answers with the
		// receipt. A platform without that path (415), or an answer lost
		// in transit (503, no connection), falls back to the resumable
		// path, which finds whatever the platform kept.
		view, err = c.PostBatch(ctx, manifest, sig, src.Files)
		if code := ronghe.ErrorCode(err); code == ronghe.EUNSUPPORTED || code == ronghe.EUNAVAILABLE {
			view, err = nil, nil
		} else if err == nil && view.Status == ronghe.SubmissionAccepted {
			if up := report("upload"); up != nil {
				up(total)
			}
		}
	}
	if view == nil && err == nil {
		view, err = c.PostManifest(ctx, manifest, sig)
	}
	if ronghe.ErrorCode(err) == ronghe.ECONFLICT {
		// A manifest for this message is already stored (an earlier run that
		// was interrupted signed it with another creation time). If it lists
		// exactly these files, that submission is this one: resume it.
		stored, ferr := c.Submission(ctx, m.MessageID)
		if ferr != nil || !sameFiles(stored.Files, m.Files) {
			return nil, err
		}
		view = stored
	} else if err != nil {
		return nil, err
	}
	if view.Status != ronghe.SubmissionAccepted {
		up := report("upload")
		for i := range src.Files {
			f := &src.Files[i]
			var state *ronghe.SubmissionFile
			for j := range view.Files {
				if view.Files[j].Name == f.Name {
					state = &view.Files[j]
				}
			}
			if state == nil {
				continue
			}
			if state.Done {
				if up != nil {
					up(f.Size)
				}
				continue
			}
			if err := c.upload(ctx, m.MessageID, f, state.UploadID, up); err != nil {
				return nil, fmt.Errorf("uploading %s: %w", f.Name, err)
			}
		}
		if view, err = c.Complete(ctx, m.MessageID); err != nil {
			return nil, err
		}
	}
	if view.Status != ronghe.SubmissionAccepted {
		return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "submission %s is still %s; run submit again to resume", m.MessageID, view.Status)
	}
	res := &SubmitResult{Manifest: m, View: view}
	// An accepted submission's view carries its receipt, checked below like
	// one fetched on its own.
	if len(view.Receipt) > 0 {
		res.Receipt, err = evidence.Parse(view.Receipt)
	} else {
		res.Receipt, err = c.Receipt(ctx, m.MessageID)
	}
	if err != nil {
		return nil, err
	}
	if c.p.Pinned != nil {
		v, err := c.verifier()
		if err != nil {
			return res, err
		}
		if _, err := v.Receipt(res.Receipt); err != nil {
			return res, err
		}
		res.Verified = true
	}
	return res, nil
}

// verifier returns the verifier of the profile's pinned platform identity,
// built once.
func (c *Client) verifier() (*Verifier, error) {
	c.verifyOnce.Do(func() { c.verify, c.verifyErr = NewVerifier(c.p.Pinned) })
	return c.verify, c.verifyErr
}

// Message is a mailbox message as fetched.
type Message struct {
	ronghe.MailboxMessage
}

// Mailbox lists the institution's messages (without bodies).
func (c *Client) Mailbox(ctx context.Context, unackedOnly bool) ([]*ronghe.MailboxMessage, error) {
	var out struct {
		Messages []*ronghe.MailboxMessage `json:"messages"`
	}
	path := "/v1/mailbox"
	if unackedOnly {
		path += "?unacked=true"
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Messages, err
}

// FetchMessage returns one message with its body and envelope.
func (c *Client) FetchMessage(ctx context.Context, id string) (*ronghe.MailboxMessage, error) {
	var m ronghe.MailboxMessage
	_, err := c.do(ctx, http.MethodGet, "/v1/mailbox/"+id, nil, &m)
	return &m, err
}

// Acknowledge signs and sends the acknowledgment of a fetched message.
func (c *Client) Acknowledge(ctx context.Context, m *ronghe.MailboxMessage) (*ronghe.MailboxMessage, error) {
	doc, err := evidence.Sign(evidence.Ack{
		Type: evidence.TypeAck, MessageID: m.ID, Digest: suite.Digest(c.p.Suite, m.Envelope),
		Party: c.p.Institution, At: time.Now().UTC(),
	}, c.p.Signer)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/mailbox/"+m.ID+"/ack", bytes.NewReader(doc.Marshal()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, asError(resp)
	}
	var out ronghe.MailboxMessage
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// sameFiles reports whether the stored submission lists exactly the files
// of manifest m, with the same sizes and digests.
func sameFiles(stored []ronghe.SubmissionFile, files []ronghe.ManifestFile) bool {
	if len(stored) != len(files) {
		return false
	}
	want := map[string]ronghe.ManifestFile{}
	for _, f := range files {
		want[f.Name] = f
	}
	for _, f := range stored {
		w, ok := want[f.Name]
		if !ok || w.Size != f.Size || w.Digest != f.Digest {
			return false
		}
	}
	return true
}

// Evidence returns the evidence bundle of an accepted submission, to keep for
// the retention period and check offline with Verifier.Bundle.
func (c *Client) Evidence(ctx context.Context, messageID string) (*evidence.Bundle, error) {
	var b evidence.Bundle
	_, err := c.do(ctx, http.MethodGet, "/v1/submissions/"+messageID+"/evidence", nil, &b)
	return &b, err
}

package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/rrs"
)

// maxMailboxLimit caps one page of a mailbox listing; defaultMailboxLimit is
// the page size when none is asked for (the store's default).
const (
	maxMailboxLimit     = 1000
	defaultMailboxLimit = 100
)

var signedType = reflect.TypeFor[evidence.Signed]()

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "internal error")
	}
	return writeRaw(w, r, status, "application/json", b)
}

func writeRaw(w http.ResponseWriter, r *http.Request, status int, contentType string, b []byte) error {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	return nil
}

// readBody reads a JSON request body of at most MaxRequestBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "request body must be application/json, not %q", ct)
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "request body larger than %d bytes", tooBig.Limit)
	} else if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "could not read the request body")
	}
	return b, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown members and
// trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "malformed request body: "+jsonErrorText(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return ronghe.Errorf(ronghe.EINVALID, "malformed request body: data after the JSON value")
	}
	return nil
}

// jsonErrorText describes a decoding error without echoing the body.
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "member " + strconv.Quote(typ.Field) + " must be " + typ.Type.String()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown member " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "not valid JSON for this request"
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, r, http.StatusOK, Health{Status: "ok"})
}

func (s *Server) openAPIDoc(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	return writeRaw(w, r, http.StatusOK, "application/json", s.openapi)
}

func (s *Server) platform(w http.ResponseWriter, r *http.Request) error {
	p := Platform{PlatformKeys: s.cfg.PlatformKeys, RRSVersions: rrs.Versions(), MaxUploadBytes: s.cfg.MaxUploadBytes, UploadURL: UploadsPath}
	if p.SigningKeys == nil {
		p.SigningKeys = []string{}
	}
	if p.LogVerifiers == nil {
		p.LogVerifiers = []string{}
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	return writeJSON(w, r, http.StatusOK, p)
}

func (s *Server) rrsSchema(w http.ResponseWriter, r *http.Request) error {
	spec, err := rrs.Lookup(r.PathValue("version"))
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	name, ok := strings.CutSuffix(file, ".json")
	if !ok {
		return ronghe.Errorf(ronghe.ENOTFOUND, "no schema %q: ask for <TYPE>.json, e.g. TXN.json", file)
	}
	rt := spec.Record(rrs.Type(name))
	if rt == nil {
		_, err := spec.ParseType(name) // names the known types
		return ronghe.Errorf(ronghe.ENOTFOUND, "%s", ronghe.ErrorMessage(err))
	}
	b, err := rt.JSONSchema(spec.Version)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	return writeRaw(w, r, http.StatusOK, "application/schema+json", b)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "multipart/form-data" {
		return s.submitInline(w, r, tenant, params["boundary"])
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req SubmitRequest
	if err := decodeStrict(raw, &req); err != nil {
		return err
	}
	if len(req.Manifest) == 0 || len(req.Signature) == 0 {
		return ronghe.Errorf(ronghe.EINVALID, "manifest and signature are both required")
	}
	// The exchange answers a replay with the stored submission; look first
	// so that the response can say 200 rather than 201. (Two concurrent
	// first submissions may both see 201; both get the same submission.)
	status := http.StatusCreated
	var head struct {
		MessageID string `json:"message_id"`
	}
	if json.Unmarshal(req.Manifest, &head) == nil && head.MessageID != "" {
		if _, err := s.cfg.Exchange.Submission(r.Context(), tenant, head.MessageID); err == nil {
			status = http.StatusOK
		} else if ronghe.ErrorCode(err) != ronghe.ENOTFOUND {
			return err
		}
	}
	sub, err := s.cfg.Exchange.Submit(r.Context(), tenant, req.Manifest, req.Signature)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/submissions/"+sub.MessageID)
	return writeJSON(w, r, status, submissionView(sub))
}

func (s *Server) getSubmission(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	sub, err := s.cfg.Exchange.Submission(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, submissionView(sub))
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	sub, err := s.cfg.Exchange.Finalize(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if sub.Status != ronghe.SubmissionAccepted {
		status = http.StatusAccepted
	}
	return writeJSON(w, r, status, submissionView(sub))
}

func (s *Server) receipt(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	sub, err := s.cfg.Exchange.Submission(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	if sub.Status != ronghe.SubmissionAccepted || len(sub.Receipt) == 0 {
		return ronghe.Errorf(ronghe.ENOTFOUND, "message %s has no receipt yet: it is %s; upload its files and call complete", sub.MessageID, sub.Status)
	}
	return writeRaw(w, r, http.StatusOK, "application/json", sub.Receipt)
}

func (s *Server) listMailbox(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for k := range q {
		if k != "unacked" && k != "after" && k != "limit" {
			return ronghe.Errorf(ronghe.EINVALID, "unknown query parameter %q", k)
		}
	}
	f := ronghe.MailboxFilter{After: q.Get("after"), Limit: defaultMailboxLimit}
	if v := q.Get("unacked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return ronghe.Errorf(ronghe.EINVALID, "unacked must be true or false, not %q", v)
		}
		f.Unacked = b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMailboxLimit {
			return ronghe.Errorf(ronghe.EINVALID, "limit must be an integer from 1 to %d, not %q", maxMailboxLimit, v)
		}
		f.Limit = n
	}
	msgs, err := s.cfg.Exchange.Mailbox(r.Context(), tenant, f)
	if err != nil {
		return err
	}
	out := MailboxList{Messages: make([]MailboxMessageView, 0, len(msgs))}
	for _, m := range msgs {
		out.Messages = append(out.Messages, mailboxView(m, false))
	}
	if len(msgs) == f.Limit && len(msgs) > 0 {
		out.Next = msgs[len(msgs)-1].ID
	}
	return writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) getMailboxMessage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	m, err := s.cfg.Exchange.MailboxMessage(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, mailboxView(m, true))
}

func (s *Server) ackMailboxMessage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	// Refuse malformed documents and unknown members here, before the
	// exchange looks the message up; the exchange verifies the signature.
	if _, err := evidence.Parse(raw); err != nil {
		return err
	}
	m, err := s.cfg.Exchange.Acknowledge(r.Context(), tenant, r.PathValue("id"), raw)
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, mailboxView(m, false))
}

func (s *Server) evidenceBundle(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantFrom(r.Context())
	if err != nil {
		return err
	}
	b, err := s.cfg.Exchange.Evidence(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, b)
}

package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/policy"
	"github.com/ronghe/ronghe/report"
)

// postDoc posts a signed document and decodes the JSON answer.
func (c *Client) postDoc(ctx context.Context, path string, doc *evidence.Signed, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(doc.Marshal()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot reach "+c.base+": "+err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return asError(resp)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Authorize signs and registers an authorization for grantee, as the
// enterprise whose profile this client has (授权前置).
func (c *Client) Authorize(ctx context.Context, grantee, purpose string, notBefore, notAfter time.Time) (*ronghe.Authorization, error) {
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	doc, err := evidence.Sign(policy.AuthorizationDoc{
		Type: policy.TypeAuthorization, Enterprise: c.p.Institution, Grantee: grantee, Purpose: purpose,
		Scope: []string{ronghe.ScopeFlowReport}, NotBefore: notBefore.UTC(), NotAfter: notAfter.UTC(),
		Nonce: hex.EncodeToString(nonce[:]), SignedAt: time.Now().UTC(),
	}, c.p.Signer)
	if err != nil {
		return nil, err
	}
	var a ronghe.Authorization
	return &a, c.postDoc(ctx, "/v1/authorizations", doc, &a)
}

// RevokeAuthorization signs and sends the revocation of an authorization.
func (c *Client) RevokeAuthorization(ctx context.Context, id string) (*ronghe.Authorization, error) {
	doc, err := evidence.Sign(policy.RevocationDoc{Type: policy.TypeRevocation, Enterprise: c.p.Institution,
		AuthorizationID: id, SignedAt: time.Now().UTC()}, c.p.Signer)
	if err != nil {
		return nil, err
	}
	var a ronghe.Authorization
	return &a, c.postDoc(ctx, "/v1/authorizations/revoke", doc, &a)
}

// QueryRecords lists the queries made about the enterprise.
func (c *Client) QueryRecords(ctx context.Context) ([]*ronghe.QueryRecord, error) {
	var out struct {
		Records []*ronghe.QueryRecord `json:"records"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/query-records", nil, &out)
	return out.Records, err
}

// FlowReport requests an enterprise's flow report under an authorization and
// verifies the platform's signatures against the pinned keys.
func (c *Client) FlowReport(ctx context.Context, req report.Request) (*report.Report, *evidence.Signed, error) {
	var doc evidence.Signed
	if _, err := c.do(ctx, http.MethodPost, "/v1/reports/flow", req, &doc); err != nil {
		return nil, nil, err
	}
	if c.p.Pinned == nil {
		return nil, nil, ronghe.Errorf(ronghe.EINVALID, "no pinned platform keys to verify the report with")
	}
	v, err := NewVerifier(c.p.Pinned)
	if err != nil {
		return nil, nil, err
	}
	var r report.Report
	if err := doc.Verify(report.TypeFlowReport, v.keys, &r); err != nil {
		return nil, nil, err
	}
	return &r, &doc, nil
}

// FlowReportHTML requests the same report as a readable page.
func (c *Client) FlowReportHTML(ctx context.Context, req report.Request) ([]byte, error) {
	b, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/reports/flow?format=html", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, asError(resp)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/evidence"
	"github.com/ronghe/ronghe/policy"
)

// DisputeRequest is what an enterprise disputes: data one institution
// reported about it, for a month (YYYY-MM) or a From–To range of business
// dates (YYYY-MM-DD), in one record class.
type DisputeRequest struct {
	Institution string
	Month       string
	From, To    string
	// RecordClass is ronghe.RecordClassTXN, RecordClassBAL or RecordClassACCT.
	RecordClass string
	// Currency optionally narrows the dispute to one currency.
	Currency string
	Reason   string
}

// FileDispute signs and files a dispute (异议) as the enterprise whose profile
// this client has. The platform delivers it to the institution, which must
// answer within 20 calendar days.
func (c *Client) FileDispute(ctx context.Context, req DisputeRequest) (*ronghe.Dispute, error) {
	doc, err := evidence.Sign(policy.DisputeDoc{
		Type: policy.TypeDispute, Enterprise: c.p.Institution, Institution: req.Institution, Month: req.Month,
		From: req.From, To: req.To, RecordClass: req.RecordClass, Currency: req.Currency, Reason: req.Reason,
		SignedAt: time.Now().UTC(),
	}, c.p.Signer)
	if err != nil {
		return nil, err
	}
	var d ronghe.Dispute
	return &d, c.postDoc(ctx, "/v1/disputes", doc, &d)
}

// AnswerDispute signs and sends the institution's answer to a dispute
// about data it reported: outcome ronghe.AnswerConfirmed or
// ronghe.AnswerCorrected, and an explanation for the enterprise.
func (c *Client) AnswerDispute(ctx context.Context, id, outcome, text string) (*ronghe.Dispute, error) {
	doc, err := evidence.Sign(policy.DisputeAnswerDoc{
		Type: policy.TypeDisputeAnswer, Institution: c.p.Institution, DisputeID: id, Outcome: outcome, Text: text,
		SignedAt: time.Now().UTC(),
	}, c.p.Signer)
	if err != nil {
		return nil, err
	}
	var d ronghe.Dispute
	return &d, c.postDoc(ctx, "/v1/disputes/"+url.PathEscape(id)+"/answer", doc, &d)
}

// Disputes lists the disputes the client's party filed (an enterprise) or
// must answer (an institution); status is "", "open", "resolved" or
// "overdue".
func (c *Client) Disputes(ctx context.Context, status string) ([]*ronghe.Dispute, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	path := "/v1/disputes"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Disputes []*ronghe.Dispute `json:"disputes"`
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Disputes, err
}

// Dispute returns one of the party's disputes.
func (c *Client) Dispute(ctx context.Context, id string) (*ronghe.Dispute, error) {
	var d ronghe.Dispute
	_, err := c.do(ctx, http.MethodGet, "/v1/disputes/"+url.PathEscape(id), nil, &d)
	return &d, err
}

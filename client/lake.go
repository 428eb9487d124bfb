package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ronghe/ronghe"
)

// The lake API is for the operator's staff: a Client made from staff
// credentials (LoadStaff) reads the catalog, runs governed SQL and, in the
// admin role, reads the query log. The catalog, queries, results and log
// entries are the root package's types (ronghe.LakeTable, ronghe.LakeQuery,
// ronghe.LakeResult, ronghe.LakeLogEntry), so that a client needs neither
// the lake nor DuckDB.

// StaffFile names the staff member and the platform in a staff credentials
// directory, beside ca.pem, cert.pem and key.pem.
const StaffFile = "staff.json"

// Staff describes staff credentials: who they name, in which role, and
// where the platform is. The role is the certificate's; the file only says
// what it is.
type Staff struct {
	Server string    `json:"server"`
	Name   string    `json:"name"`
	Role   string    `json:"role"`
	Serial string    `json:"serial,omitempty"`
	Until  time.Time `json:"not_after,omitzero"`
}

// SaveStaff writes staff credentials into dir (created 0700; the key 0600).
func SaveStaff(dir string, st Staff, caPEM, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ronghe.WrapError(ronghe.EINTERNAL, err, "client: "+err.Error())
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{StaffFile, append(b, '\n'), 0o644}, {CAFile, caPEM, 0o644}, {CertFile, certPEM, 0o644}, {KeyFile, keyPEM, 0o600}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return ronghe.WrapError(ronghe.EINTERNAL, err, "client: "+err.Error())
		}
	}
	return nil
}

// LoadStaff reads staff credentials from dir as a Profile for New (no
// signing key: staff sign nothing) and the staff description.
func LoadStaff(dir string) (*Profile, *Staff, error) {
	var st Staff
	b, err := os.ReadFile(filepath.Join(dir, StaffFile))
	if err != nil {
		return nil, nil, ronghe.WrapError(ronghe.EINVALID, err, "cannot read staff credentials "+dir+": "+err.Error())
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, ronghe.WrapError(ronghe.EINVALID, err, "malformed "+StaffFile)
	}
	p := &Profile{Server: st.Server}
	for name, dst := range map[string]*[]byte{CAFile: &p.CAPEM, CertFile: &p.CertPEM, KeyFile: &p.KeyPEM} {
		if *dst, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
			return nil, nil, ronghe.WrapError(ronghe.EINVALID, err, "staff credentials "+dir+" lack "+name)
		}
	}
	return p, &st, nil
}

// LakeCatalog returns the lake's data catalog.
func (c *Client) LakeCatalog(ctx context.Context) ([]ronghe.LakeTable, error) {
	var out []ronghe.LakeTable
	_, err := c.do(ctx, http.MethodGet, "/v1/lake/catalog", nil, &out)
	return out, err
}

// LakeSQL runs one governed query; it is logged under the certificate's
// name, refused or not.
func (c *Client) LakeSQL(ctx context.Context, q ronghe.LakeQuery) (*ronghe.LakeResult, error) {
	var out ronghe.LakeResult
	if _, err := c.do(ctx, http.MethodPost, "/v1/lake/sql", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LakeQueryLog returns up to limit entries of the query log after the
// given ID (admin role only).
func (c *Client) LakeQueryLog(ctx context.Context, after int64, limit int) ([]ronghe.LakeLogEntry, error) {
	v := url.Values{}
	if after > 0 {
		v.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/lake/query-log"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out []ronghe.LakeLogEntry
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

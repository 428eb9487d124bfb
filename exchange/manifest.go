package exchange

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/rrs"
)

// maxManifestBytes bounds a manifest; a batch has at most a handful of files,
// so anything larger is an attack or a mistake.
const maxManifestBytes = 64 << 10

var (
	messageIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	fileNamePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(csv|CSV)$`)
)

// ParseManifest decodes and checks a signed manifest's bytes without trusting
// anything in them yet: unknown members, a wrong version, an unsafe file name, a
// duplicate file or a malformed digest are EINVALID errors; an unknown
// standard version is EUNSUPPORTED.
func ParseManifest(b []byte) (*ronghe.Manifest, error) {
	if len(b) > maxManifestBytes {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "manifest is %d bytes, the limit is %d", len(b), maxManifestBytes)
	}
	var m ronghe.Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "manifest is not valid JSON of the manifest format: "+err.Error())
	}
	if dec.More() {
		return nil, ronghe.Errorf(ronghe.EINVALID, "manifest has data after its JSON object")
	}
	if m.Version != ronghe.ManifestVersion {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "manifest_version %q is not supported; use %q", m.Version, ronghe.ManifestVersion)
	}
	if !messageIDPattern.MatchString(m.MessageID) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "message_id %q must be 1-128 characters of A-Z a-z 0-9 . _ -", m.MessageID)
	}
	if !m.Suite.Valid() {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "suite %q is not supported; use GM or INTL", m.Suite)
	}
	if m.Standard != "RRS-1" {
		return nil, ronghe.Errorf(ronghe.EUNSUPPORTED, "standard %q is not supported; use RRS-1", m.Standard)
	}
	if _, err := rrs.Lookup(m.StandardVersion); err != nil {
		return nil, err
	}
	if _, err := rrs.ParseEncoding(m.Encoding); err != nil {
		return nil, ronghe.WrapError(ronghe.EUNSUPPORTED, err, fmt.Sprintf("encoding %q is not supported; use UTF-8 or GB18030", m.Encoding))
	}
	date, err := rrs.ParseDate(m.BusinessDate)
	if err != nil {
		return nil, ronghe.Errorf(ronghe.EINVALID, "business_date %q is not a YYYY-MM-DD date", m.BusinessDate)
	}
	switch m.Kind {
	case ronghe.MessageBatch:
		// RRS-1 §1: a batch is known by <inst_code>_<YYYYMMDD>_<seq>; the
		// message ID must be exactly that name so that a batch can never be
		// submitted twice under two IDs.
		want := rrs.BatchID{InstCode: m.Sender, Date: date, Seq: m.BatchSeq}.String()
		if m.BatchSeq < 1 {
			return nil, ronghe.Errorf(ronghe.EINVALID, "batch_seq must be 1 or more")
		}
		if m.MessageID != want {
			return nil, ronghe.Errorf(ronghe.EINVALID, "message_id of a batch must be its batch name %q, not %q", want, m.MessageID)
		}
		if m.RefersTo != "" {
			return nil, ronghe.Errorf(ronghe.EINVALID, "a batch does not refer to another message")
		}
	case ronghe.MessageSampleAnswer:
		if !messageIDPattern.MatchString(m.RefersTo) {
			return nil, ronghe.Errorf(ronghe.EINVALID, "a sample answer must name the batch it answers in refers_to")
		}
	default:
		return nil, ronghe.Errorf(ronghe.EINVALID, "kind %q is not %q or %q", m.Kind, ronghe.MessageBatch, ronghe.MessageSampleAnswer)
	}
	if len(m.Files) == 0 {
		return nil, ronghe.Errorf(ronghe.EINVALID, "manifest lists no files")
	}
	digestLen := 32 // SM3 and SHA-256 both give 32 bytes
	seen := map[string]bool{}
	for _, f := range m.Files {
		if !fileNamePattern.MatchString(f.Name) || strings.Contains(f.Name, "..") {
			return nil, ronghe.Errorf(ronghe.EINVALID, "file name %q is not a bare <NAME>.csv (no directories, no special characters)", f.Name)
		}
		if m.Kind == ronghe.MessageBatch {
			t := rrs.Type(strings.TrimSuffix(strings.TrimSuffix(f.Name, ".csv"), ".CSV"))
			if rrs.Current().Record(t) == nil {
				return nil, ronghe.Errorf(ronghe.EINVALID, "file %q is not an RRS-1 record file (ACCT, TXN, BAL, GL, STAT, FXP or CTL .csv)", f.Name)
			}
		}
		key := strings.ToUpper(f.Name)
		if seen[key] {
			return nil, ronghe.Errorf(ronghe.EINVALID, "file %q is listed twice", f.Name)
		}
		seen[key] = true
		if f.Size < 0 {
			return nil, ronghe.Errorf(ronghe.EINVALID, "file %q has a negative size", f.Name)
		}
		if d, err := hex.DecodeString(f.Digest); err != nil || len(d) != digestLen || f.Digest != strings.ToLower(f.Digest) {
			return nil, ronghe.Errorf(ronghe.EINVALID, "file %q: digest must be %d lower-case hex characters of %s", f.Name, 2*digestLen, m.Suite.HashName())
		}
	}
	return &m, nil
}

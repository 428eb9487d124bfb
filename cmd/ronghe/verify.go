package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/client"
	"github.com/ronghe/ronghe/evidence"
)

// runVerify checks a receipt or an evidence bundle offline against pinned
// platform keys: a platform.json (from the profile, or GET /v1/platform
// fetched once over a trusted channel).
func runVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "verify")
	platformFile := fs.String("platform", "", "platform.json with the pinned platform keys (default: the profile's)")
	prof := profileFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: ronghe verify [--platform platform.json] RECEIPT_OR_BUNDLE.json")
	}
	path := *platformFile
	if path == "" {
		path = *prof + "/" + client.PlatformFile
	}
	pb, err := os.ReadFile(path)
	if err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "cannot read pinned platform keys: "+err.Error())
	}
	var info ronghe.PlatformInfo
	if err := json.Unmarshal(pb, &info); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "malformed "+path)
	}
	v, err := client.NewVerifier(&info)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var head struct {
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, fs.Arg(0)+" is not JSON")
	}
	var r *evidence.Receipt
	kind := "receipt"
	if head.Type == evidence.TypeBundle {
		kind = "evidence bundle"
		var bundle evidence.Bundle
		if err := json.Unmarshal(b, &bundle); err != nil {
			return ronghe.WrapError(ronghe.EINVALID, err, "malformed evidence bundle")
		}
		if r, err = v.Bundle(&bundle); err != nil {
			return err
		}
	} else {
		doc, err := evidence.Parse(b)
		if err != nil {
			return err
		}
		if r, err = v.Receipt(doc); err != nil {
			return err
		}
	}
	if *asJSON {
		return printJSON(e.stdout, map[string]any{"valid": true, "kind": kind, "message_id": r.MessageID, "sender": r.Sender,
			"received_at": r.ReceivedAt, "log_index": r.LogIndex, "manifest_digest": fmt.Sprintf("%x", r.ManifestDigest)})
	}
	fmt.Fprintf(e.stdout, "OK: %s for %s from %s, received %s, log index %d, manifest %s %x\n", kind, r.MessageID, r.Sender,
		r.ReceivedAt.In(shanghai()).Format("2006-01-02 15:04:05 MST"), r.LogIndex, r.DigestAlg, r.ManifestDigest)
	fmt.Fprintln(e.stdout, "    platform signatures (Ed25519, SM2), checkpoint signatures and inclusion proof all verify")
	return nil
}

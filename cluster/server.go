package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/tlog"
)

// routes is the internal endpoint. The TLS layer has already refused every
// client without a node certificate of the platform CA.
func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+pathRecord, n.handle(func(ctx context.Context, l *tlog.Log, body []byte) (any, error) {
		var req recordRequest
		if err := strictJSON(body, &req); err != nil {
			return nil, err
		}
		leaf := []byte(req.Leaf)
		index, err := l.Append(ctx, leaf)
		if err != nil {
			return nil, err
		}
		cp, size, err := l.AwaitCheckpoint(ctx, index)
		if err != nil {
			return nil, fmt.Errorf("leaf %d appended but no checkpoint yet: %w", index, err)
		}
		proof, err := l.InclusionProof(ctx, index, size)
		if err != nil {
			return nil, fmt.Errorf("inclusion proof for leaf %d: %w", index, err)
		}
		return recordResponse{Index: index, Checkpoint: cp, Size: size, Proof: proof}, nil
	}))
	mux.Handle("POST "+pathAwait, n.handle(func(ctx context.Context, l *tlog.Log, body []byte) (any, error) {
		var req awaitRequest
		if err := strictJSON(body, &req); err != nil {
			return nil, err
		}
		cp, size, err := l.AwaitCheckpoint(ctx, req.Index)
		if err != nil {
			return nil, err
		}
		return awaitResponse{Checkpoint: cp, Size: size}, nil
	}))
	mux.Handle("POST "+pathProof, n.handle(func(ctx context.Context, l *tlog.Log, body []byte) (any, error) {
		var req proofRequest
		if err := strictJSON(body, &req); err != nil {
			return nil, err
		}
		p, err := l.InclusionProof(ctx, req.Index, req.Size)
		if err != nil {
			return nil, err
		}
		return proofResponse{Proof: p}, nil
	}))
	return mux
}

// handle wraps an operation on the local log: it names the calling node for
// the log, refuses (as "not the leader", so the caller may retry elsewhere)
// a call addressed to a term this node does not lead, and encodes the answer.
func (n *Node) handle(op func(context.Context, *tlog.Log, []byte) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			writeError(w, ronghe.Errorf(ronghe.EUNAUTHORIZED, "a node certificate is required"))
			return
		}
		caller, err := pki.NodeOf(r.TLS.PeerCertificates[0])
		if err != nil {
			writeError(w, err)
			return
		}
		term, err := strconv.ParseInt(r.Header.Get(TermHeader), 10, 64)
		if err != nil {
			writeError(w, ronghe.Errorf(ronghe.EINVALID, "header %s must name a term", TermHeader))
			return
		}
		l := n.localLogFor(term)
		if l == nil {
			writeNotLeader(w, "node "+n.cfg.NodeID+" does not lead term "+strconv.FormatInt(term, 10))
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		out, err := op(r.Context(), l, body)
		if err != nil {
			n.log.WarnContext(r.Context(), "cluster: forwarded log call failed", slog.String("caller", caller), slog.String("path", r.URL.Path), slog.Any("err", err))
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, ronghe.Errorf(ronghe.ETOOLARGE, "request body exceeds %d bytes", maxRequestBytes)
	} else if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "cannot read the request body")
	}
	return b, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ronghe.WrapError(ronghe.EINVALID, err, "malformed request")
	}
	if dec.More() {
		return ronghe.Errorf(ronghe.EINVALID, "malformed request: trailing data")
	}
	return nil
}

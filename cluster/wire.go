package cluster

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ronghe/ronghe"
)

// The internal endpoint. Every call is a POST of a JSON body carrying the
// term the caller believes the callee leads (header TermHeader); the answer is
// JSON, or an errorResponse with the status of its code.
const (
	pathRecord = "/internal/v1/tlog/record"
	pathAwait  = "/internal/v1/tlog/await"
	pathProof  = "/internal/v1/tlog/proof"

	// TermHeader carries the leader term a call is addressed to.
	TermHeader = "Ronghe-Leader-Term"

	// maxRequestBytes bounds a request body; a leaf is a few hundred bytes.
	maxRequestBytes = 16 << 10
	// maxResponseBytes bounds an answer: a checkpoint note and at most 64
	// proof hashes.
	maxResponseBytes = 64 << 10
)

// recordRequest asks the leader to append a leaf, wait for a checkpoint that
// covers it and prove its inclusion: everything a receipt needs, in one call.
type recordRequest struct {
	Leaf string `json:"leaf"`
}

type recordResponse struct {
	Index      uint64   `json:"index"`
	Checkpoint []byte   `json:"checkpoint"`
	Size       uint64   `json:"size"`
	Proof      [][]byte `json:"proof"`
}

type awaitRequest struct {
	Index uint64 `json:"index"`
}

type awaitResponse struct {
	Checkpoint []byte `json:"checkpoint"`
	Size       uint64 `json:"size"`
}

type proofRequest struct {
	Index uint64 `json:"index"`
	Size  uint64 `json:"size"`
}

type proofResponse struct {
	Proof [][]byte `json:"proof"`
}

// errorResponse is a failed call. NotLeader means the callee did nothing
// because it does not lead the term the call named: the caller re-reads the
// registry and retries, which is safe even for an append.
type errorResponse struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	NotLeader bool   `json:"not_leader,omitempty"`
}

// errNotLeader is what a caller sees for a NotLeader answer.
var errNotLeader = errors.New("cluster: the callee does not lead that term")

// statusOf maps an error code to the HTTP status of the answer.
func statusOf(code string) int {
	switch code {
	case ronghe.EINVALID:
		return http.StatusBadRequest
	case ronghe.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case ronghe.EFORBIDDEN, ronghe.EEXPIRED:
		return http.StatusForbidden
	case ronghe.ENOTFOUND:
		return http.StatusNotFound
	case ronghe.ECONFLICT:
		return http.StatusConflict
	case ronghe.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case ronghe.EINTEGRITY:
		return http.StatusUnprocessableEntity
	case ronghe.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	code := ronghe.ErrorCode(err)
	// Nodes are one platform: the full cause helps whoever reads the
	// caller's log, and no tenant ever sees it (the exchange wraps it).
	writeJSON(w, statusOf(code), errorResponse{Code: code, Message: err.Error()})
}

func writeNotLeader(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusServiceUnavailable, errorResponse{Code: ronghe.EUNAVAILABLE, Message: msg, NotLeader: true})
}

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/tlog"
	"github.com/ronghe/ronghe/tlog/client"
)

// Append adds an event leaf to the log and returns its index once it is
// integrated. On the leader it appends locally; elsewhere it forwards one
// "record" call and verifies the answer (see the package documentation).
// A forwarded append whose outcome is unknown fails with EUNAVAILABLE; the
// leaf may then have been logged, and a retry logs it again.
func (n *Node) Append(ctx context.Context, leaf []byte) (uint64, error) {
	if _, err := tlog.ParseLeaf(leaf); err != nil {
		return 0, err
	}
	var index uint64
	err := n.do(ctx, false,
		func(l *tlog.Log) (err error) {
			index, err = l.Append(ctx, leaf)
			return err
		},
		func(t *target) error {
			var res recordResponse
			if err := t.call(ctx, n.cfg.RequestTimeout, pathRecord, recordRequest{Leaf: string(leaf)}, &res); err != nil {
				return err
			}
			cp, err := n.verifier.VerifyCheckpoint(res.Checkpoint)
			if err != nil {
				return ronghe.WrapError(ronghe.EINTEGRITY, err, "the log leader's checkpoint does not verify")
			}
			if cp.Size != res.Size || res.Index >= cp.Size {
				return ronghe.Errorf(ronghe.EINTEGRITY, "the log leader answered index %d with a checkpoint of size %d (claimed %d)", res.Index, cp.Size, res.Size)
			}
			if err := client.VerifyInclusion(leaf, res.Index, res.Proof, cp); err != nil {
				return ronghe.WrapError(ronghe.EINTEGRITY, err, "the log leader's inclusion proof does not verify")
			}
			n.cache.put(res.Index, cachedRecord{checkpoint: res.Checkpoint, size: res.Size, proof: res.Proof})
			index = res.Index
			return nil
		})
	return index, err
}

// AwaitCheckpoint returns a signed checkpoint whose tree covers index. For
// an index this node appended through the leader it is the checkpoint the
// leader returned with it.
func (n *Node) AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, uint64, error) {
	if r, ok := n.cache.get(index); ok {
		return r.checkpoint, r.size, nil
	}
	var cp []byte
	var size uint64
	err := n.do(ctx, true,
		func(l *tlog.Log) (err error) {
			cp, size, err = l.AwaitCheckpoint(ctx, index)
			return err
		},
		func(t *target) error {
			var res awaitResponse
			if err := t.call(ctx, n.cfg.RequestTimeout, pathAwait, awaitRequest{Index: index}, &res); err != nil {
				return err
			}
			c, err := n.verifier.VerifyCheckpoint(res.Checkpoint)
			if err != nil {
				return ronghe.WrapError(ronghe.EINTEGRITY, err, "the log leader's checkpoint does not verify")
			}
			if c.Size != res.Size || index >= c.Size {
				return ronghe.Errorf(ronghe.EINTEGRITY, "the log leader answered a checkpoint of size %d (claimed %d) for index %d", c.Size, res.Size, index)
			}
			cp, size = res.Checkpoint, res.Size
			return nil
		})
	return cp, size, err
}

// InclusionProof proves the leaf at index is in the tree of the given size.
func (n *Node) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if r, ok := n.cache.get(index); ok && r.size == size {
		n.cache.remove(index)
		return r.proof, nil
	}
	var proof [][]byte
	err := n.do(ctx, true,
		func(l *tlog.Log) (err error) {
			proof, err = l.InclusionProof(ctx, index, size)
			return err
		},
		func(t *target) error {
			var res proofResponse
			if err := t.call(ctx, n.cfg.RequestTimeout, pathProof, proofRequest{Index: index, Size: size}, &res); err != nil {
				return err
			}
			proof = res.Proof
			return nil
		})
	return proof, err
}

// do runs one operation on the log: locally while this node leads, else on
// the leader. It re-resolves the leader and retries while no leader answers,
// for up to LeaderWait: a call that certainly did nothing (no connection, a
// peer that is not the leader, an answer "not the leader") is always
// retried; a call sent but not answered, or answered EUNAVAILABLE, is retried
// only if the operation is idempotent (not an append); any other answer is
// returned as it is.
func (n *Node) do(ctx context.Context, idempotent bool, local func(*tlog.Log) error, remote func(*target) error) error {
	deadline := time.Now().Add(n.cfg.LeaderWait)
	var stale *target
	var last error
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		if l := n.localLog(); l != nil {
			err := local(l)
			if err == nil || !idempotent || n.localLog() == l {
				return err
			}
			last = err // this node stepped down meanwhile: ask the new leader
		} else if t, err := n.leader(ctx, stale); err != nil {
			last = err
		} else {
			err := remote(t)
			if err == nil {
				return nil
			}
			var nd *notDelivered
			var ou *outcomeUnknown
			switch {
			case errors.Is(err, errNotLeader) || errors.As(err, &nd):
			case idempotent && (ronghe.ErrorCode(err) == ronghe.EUNAVAILABLE || errors.As(err, &ou)):
			case errors.As(err, &ou):
				return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "the transparency log leader did not answer; the outcome is unknown")
			default:
				return err
			}
			last, stale = err, t
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return ronghe.WrapError(ronghe.EUNAVAILABLE, last, "no transparency log leader answered")
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// leader returns the target to forward to: the cached one unless it is the
// one that just failed (stale), else the one the registry names now.
func (n *Node) leader(ctx context.Context, stale *target) (*target, error) {
	n.fwdMu.Lock()
	defer n.fwdMu.Unlock()
	if n.target != nil && n.target != stale {
		return n.target, nil
	}
	qctx, cancel := context.WithTimeout(ctx, dbTimeout)
	row, found, err := n.reg.leader(qctx)
	cancel()
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot read the cluster registry")
	}
	if !found || row.Addr == "" || row.Node == n.cfg.NodeID {
		// No leader yet, one still opening the log, or this node's own
		// record from a term it has left.
		return nil, ronghe.Errorf(ronghe.EUNAVAILABLE, "no transparency log leader is serving yet")
	}
	if t := n.target; t != nil {
		if t.term == row.Term && t.node == row.Node && t.addr == row.Addr {
			return t, nil
		}
		t.close()
	}
	n.target = newTarget(row, clientTransport(n))
	n.log.Info("cluster: forwarding log calls to the leader", slog.String("leader", row.Node), slog.Int64("term", row.Term), slog.String("addr", row.Addr))
	return n.target, nil
}

// target is a leader as a follower calls it.
type target struct {
	term       int64
	node, addr string
	tr         *http.Transport
	http       *http.Client
}

func clientTransport(n *Node) func(want string) *http.Transport {
	return func(want string) *http.Transport {
		return &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     clientTLS(n.cfg.CA, n.certs, want),
			TLSHandshakeTimeout: 5 * time.Second,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
}

func newTarget(row leaderRow, transport func(string) *http.Transport) *target {
	tr := transport(row.Node)
	return &target{term: row.Term, node: row.Node, addr: row.Addr, tr: tr, http: &http.Client{Transport: tr}}
}

func (t *target) close() { t.tr.CloseIdleConnections() }

// notDelivered is a call that never reached the leader's handler.
type notDelivered struct{ err error }

func (e *notDelivered) Error() string { return "cluster: call not delivered: " + e.err.Error() }
func (e *notDelivered) Unwrap() error { return e.err }

// outcomeUnknown is a call that was sent but not answered.
type outcomeUnknown struct{ err error }

func (e *outcomeUnknown) Error() string {
	return "cluster: call sent but not answered: " + e.err.Error()
}
func (e *outcomeUnknown) Unwrap() error { return e.err }

// call POSTs in to the leader's path and decodes the answer into out.
func (t *target) call(ctx context.Context, timeout time.Duration, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+t.addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TermHeader, strconv.FormatInt(t.term, 10))
	resp, err := t.http.Do(req)
	if err != nil {
		if !sent.Load() {
			return &notDelivered{err}
		}
		return &outcomeUnknown{err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return &outcomeUnknown{err}
	}
	if len(b) > maxResponseBytes {
		return ronghe.Errorf(ronghe.EINTEGRITY, "the log leader's answer exceeds %d bytes", maxResponseBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorResponse
		if json.Unmarshal(b, &e) != nil || e.Code == "" {
			return ronghe.Errorf(ronghe.EUNAVAILABLE, "log leader %s answered HTTP %d", t.node, resp.StatusCode)
		}
		if e.NotLeader {
			return fmt.Errorf("node %s, term %d: %s: %w", t.node, t.term, e.Message, errNotLeader)
		}
		return ronghe.Errorf(e.Code, "log leader %s: %s", t.node, e.Message)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, "the log leader's answer is malformed")
	}
	return nil
}

// recordCacheSize bounds the answers kept for AwaitCheckpoint and
// InclusionProof after a forwarded append (the exchange asks for them right
// after; events that need no receipt leave theirs until evicted).
const recordCacheSize = 1024

type cachedRecord struct {
	checkpoint []byte
	size       uint64
	proof      [][]byte
}

// recordCache keeps the leader's answers to this node's forwarded appends,
// evicting the oldest beyond max.
type recordCache struct {
	max   int
	mu    sync.Mutex
	m     map[uint64]cachedRecord
	order []uint64
}

func (c *recordCache) put(index uint64, r cachedRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[uint64]cachedRecord)
	}
	c.m[index] = r
	c.order = append(c.order, index)
	for len(c.m) > c.max && len(c.order) > 0 {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	if len(c.order) > 2*c.max {
		// Drop indices already removed, so order stays bounded.
		kept := make([]uint64, 0, len(c.m))
		for _, i := range c.order {
			if _, ok := c.m[i]; ok {
				kept = append(kept, i)
			}
		}
		c.order = kept
	}
}

func (c *recordCache) get(index uint64) (cachedRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[index]
	return r, ok
}

func (c *recordCache) remove(index uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, index)
}

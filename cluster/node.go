package cluster

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/tlog"
	"github.com/ronghe/ronghe/tlog/client"
)

// LockName is the advisory lock (sqlstore.DB.TryLeader) whose holder may
// write the transparency log.
const LockName = "ronghe/tlog-writer"

// Defaults for Config fields left zero.
const (
	// DefaultCampaignInterval is how often a follower tries to take the lock.
	DefaultCampaignInterval = 500 * time.Millisecond
	// DefaultCheckInterval is how often the leader confirms its term and
	// records its checkpoint.
	DefaultCheckInterval = time.Second
	// DefaultLeaseTimeout is how long a leader that cannot reach the database
	// keeps writing before it steps down.
	DefaultLeaseTimeout = 10 * time.Second
	// DefaultHandoverTimeout bounds how long a new leader waits for the
	// previous writer to release the log directory (its Close publishes a
	// final checkpoint, which tlog bounds by ShutdownTimeout, 30 s).
	DefaultHandoverTimeout = time.Minute
	// DefaultLeaderWait is how long a forwarded call waits for a leader to
	// appear before it fails with EUNAVAILABLE.
	DefaultLeaderWait = 15 * time.Second
	// DefaultRequestTimeout bounds one call to the leader.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultCertValidity is the validity of the node's certificate; it is
	// renewed in memory after two thirds of it.
	DefaultCertValidity = 7 * 24 * time.Hour
)

// Config is a node's wiring.
type Config struct {
	// DB is the platform's PostgreSQL metadata store: it elects the leader
	// and holds the registry table cluster_leaders.
	DB *sqlstore.DB
	// CA is the platform CA; it issues this node's certificate and
	// authenticates the other nodes.
	CA *pki.CA
	// NodeID names this process among the nodes (pki.ValidNodeID).
	NodeID string
	// Listen is the address of the internal endpoint, e.g. "10.0.0.5:8444";
	// Advertise is the address the other nodes dial (default: the address
	// the listener got).
	Listen, Advertise string
	// Log is how this node opens the log when it leads; Log.Dir must be the
	// directory every node uses (a volume they share).
	Log tlog.Config

	CampaignInterval time.Duration
	CheckInterval    time.Duration
	LeaseTimeout     time.Duration
	HandoverTimeout  time.Duration
	LeaderWait       time.Duration
	RequestTimeout   time.Duration
	CertValidity     time.Duration
	Logger           *slog.Logger
}

func (c *Config) defaults() error {
	if c.DB == nil || c.DB.Dialect() != sqlstore.DialectPostgres {
		return ronghe.Errorf(ronghe.EUNSUPPORTED, "a cluster of nodes needs the PostgreSQL metadata store")
	}
	if c.CA == nil {
		return ronghe.Errorf(ronghe.EINVALID, "cluster: the platform CA is required")
	}
	if !pki.ValidNodeID(c.NodeID) {
		return ronghe.Errorf(ronghe.EINVALID, "cluster: invalid node ID %q", c.NodeID)
	}
	if c.Listen == "" {
		return ronghe.Errorf(ronghe.EINVALID, "cluster: an internal listen address is required")
	}
	if c.Log.Dir == "" || c.Log.Ed25519 == nil || c.Log.SM2 == nil {
		return ronghe.Errorf(ronghe.EINVALID, "cluster: the log directory and keys are required")
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.CampaignInterval, DefaultCampaignInterval)
	set(&c.CheckInterval, DefaultCheckInterval)
	set(&c.LeaseTimeout, DefaultLeaseTimeout)
	set(&c.HandoverTimeout, DefaultHandoverTimeout)
	set(&c.LeaderWait, DefaultLeaderWait)
	set(&c.RequestTimeout, DefaultRequestTimeout)
	set(&c.CertValidity, DefaultCertValidity)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Log.Logger == nil {
		c.Log.Logger = c.Logger
	}
	return nil
}

// Node is one process's membership of the cluster. It implements the
// exchange's Log for the process: locally while it leads, by forwarding to
// the leader otherwise. All methods are safe for concurrent use.
type Node struct {
	cfg      Config
	log      *slog.Logger
	reg      *registry
	verifier *client.LogVerifier
	certs    *certSource
	ln       net.Listener
	srv      *http.Server
	addr     string
	served   chan error

	mu   sync.RWMutex
	lead *leadership // non-nil while this node writes the log

	fwdMu  sync.Mutex
	target *target // the leader calls are forwarded to

	cache recordCache

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	pause  time.Time // no campaign before this, after a failed takeover
	warned time.Time // when a failed campaign was last logged

	closeOnce sync.Once
}

// leadership is this node's term as the writer.
type leadership struct {
	term      int64
	log       *tlog.Log
	release   func()
	confirmed time.Time
}

// Start joins the cluster: it creates the registry table if needed, starts
// the internal endpoint and the election loop, and returns at once; the node
// campaigns immediately. Close leaves the cluster.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	v, err := client.NewLogVerifierFromKeys(cfg.Log.Origin, cfg.Log.Ed25519.Public().(ed25519.PublicKey), &cfg.Log.SM2.PublicKey)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		log:      cfg.Logger.With(slog.String("node", cfg.NodeID)),
		reg:      &registry{db: cfg.DB.SQL()},
		verifier: v,
		certs:    &certSource{ca: cfg.CA, id: cfg.NodeID, validity: cfg.CertValidity, now: time.Now},
		served:   make(chan error, 1),
		done:     make(chan struct{}),
		cache:    recordCache{max: recordCacheSize},
	}
	if _, err := n.certs.get(); err != nil {
		return nil, err
	}
	if err := n.reg.ensure(ctx); err != nil {
		return nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cluster: cannot create the registry table")
	}
	if n.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("cluster: internal endpoint: %w", err)
	}
	n.addr = cfg.Advertise
	if n.addr == "" {
		n.addr = n.ln.Addr().String()
	}
	n.srv = &http.Server{
		Handler:           n.routes(),
		TLSConfig:         serverTLS(cfg.CA, n.certs),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	go func() { n.served <- n.srv.ServeTLS(n.ln, "", "") }()
	n.ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go n.loop()
	n.log.InfoContext(ctx, "cluster node started", slog.String("internal_addr", n.addr), slog.String("log_dir", cfg.Log.Dir))
	return n, nil
}

// ID returns the node's ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// Addr returns the address other nodes use to reach this node's internal
// endpoint.
func (n *Node) Addr() string { return n.addr }

// Leading reports whether this node writes the log now.
func (n *Node) Leading() bool { return n.localLog() != nil }

func (n *Node) localLog() *tlog.Log {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.lead == nil {
		return nil
	}
	return n.lead.log
}

// localLogFor returns the log if this node leads exactly term.
func (n *Node) localLogFor(term int64) *tlog.Log {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.lead == nil || n.lead.term != term {
		return nil
	}
	return n.lead.log
}

// Close leaves the cluster: it stops campaigning, steps down if it leads
// (closing the log, which publishes a checkpoint covering every append, and
// releasing the lock and its address), and stops the internal endpoint.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		n.cancel()
		<-n.done
		err = n.stepDown("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := n.srv.Shutdown(sctx); serr != nil {
			err = errors.Join(err, serr)
		}
		if serr := <-n.served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		n.fwdMu.Lock()
		if n.target != nil {
			n.target.close()
			n.target = nil
		}
		n.fwdMu.Unlock()
	})
	return err
}

// loop is the election loop: campaign while following, check while leading.
func (n *Node) loop() {
	defer close(n.done)
	for {
		wait := n.cfg.CampaignInterval
		if n.Leading() {
			n.check()
			wait = n.cfg.CheckInterval
		} else if time.Now().After(n.pause) {
			n.campaign()
			if n.Leading() {
				wait = n.cfg.CheckInterval
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// dbTimeout bounds each registry statement.
const dbTimeout = 5 * time.Second

// campaign tries once to become the leader and, having won the lock, to
// take over the log.
func (n *Node) campaign() {
	ctx, cancel := context.WithTimeout(n.ctx, dbTimeout)
	release, ok, err := n.cfg.DB.TryLeader(ctx, LockName)
	cancel()
	if err != nil {
		// While the database is down every campaign fails; say so now and
		// then, not twice a second.
		if n.ctx.Err() == nil && time.Since(n.warned) > time.Minute {
			n.warned = time.Now()
			n.log.Warn("cluster: campaign for the log failed", slog.Any("err", err))
		}
		return
	}
	n.warned = time.Time{}
	if !ok {
		return
	}
	if err := n.takeOver(release); err != nil {
		release()
		if n.ctx.Err() == nil {
			// Give the other nodes a chance at the lock before trying again.
			n.pause = time.Now().Add(10 * n.cfg.CampaignInterval)
			n.log.Error("cluster: could not take over the log", slog.Any("err", err))
		}
	}
}

// takeOver runs with the lock held: claim a term, open the log, check it
// continues the cluster's history, publish the address.
func (n *Node) takeOver(release func()) error {
	ctx, cancel := context.WithTimeout(n.ctx, dbTimeout)
	term, recorded, err := n.reg.claim(ctx, n.cfg.NodeID)
	cancel()
	if err != nil {
		return fmt.Errorf("claiming a term: %w", err)
	}
	n.log.Info("cluster: won the log election; opening the log", slog.Int64("term", term))
	l, err := n.openLog(term)
	if err != nil {
		n.resign(term)
		return err
	}
	fail := func(err error) error {
		if cerr := l.Close(); cerr != nil {
			n.log.Warn("cluster: closing the log", slog.Any("err", cerr))
		}
		n.resign(term)
		return err
	}
	if err := n.checkContinuity(l, recorded); err != nil {
		return fail(err)
	}
	ctx, cancel = context.WithTimeout(n.ctx, dbTimeout)
	ok, err := n.reg.publish(ctx, n.cfg.NodeID, term, n.addr)
	cancel()
	if err != nil || !ok {
		return fail(fmt.Errorf("publishing the address for term %d (still ours: %v): %w", term, ok, err))
	}
	n.mu.Lock()
	n.lead = &leadership{term: term, log: l, release: release, confirmed: time.Now()}
	n.mu.Unlock()
	n.log.Info("cluster: leading the transparency log", slog.Int64("term", term), slog.String("internal_addr", n.addr))
	return nil
}

// openLog opens the log, waiting while the previous writer still has it
// open (ECONFLICT from the flock) as long as term is still ours.
func (n *Node) openLog(term int64) (*tlog.Log, error) {
	deadline := time.Now().Add(n.cfg.HandoverTimeout)
	wait := 20 * time.Millisecond
	for {
		l, err := tlog.Open(n.ctx, n.cfg.Log)
		if err == nil {
			return l, nil
		}
		if ronghe.ErrorCode(err) != ronghe.ECONFLICT || time.Now().After(deadline) {
			return nil, fmt.Errorf("opening the log: %w", err)
		}
		n.log.Info("cluster: the previous writer still has the log open; waiting", slog.Any("err", err))
		if !sleep(n.ctx, wait) {
			return nil, n.ctx.Err()
		}
		wait = min(2*wait, time.Second)
		ctx, cancel := context.WithTimeout(n.ctx, dbTimeout)
		row, _, err := n.reg.leader(ctx)
		cancel()
		if err == nil && (row.Term != term || row.Node != n.cfg.NodeID) {
			return nil, fmt.Errorf("term %d was superseded by term %d of %s while waiting for the log", term, row.Term, row.Node)
		}
	}
}

// checkContinuity refuses a log that does not continue the history the
// cluster has seen: the last checkpoint a leader recorded must be a prefix of
// the opened log's published checkpoint. This is what stops a node whose log
// directory is not the shared one from signing a second history.
func (n *Node) checkContinuity(l *tlog.Log, recorded []byte) error {
	if len(recorded) == 0 {
		return nil
	}
	old, err := n.verifier.VerifyCheckpoint(recorded)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, "the checkpoint recorded in cluster_leaders does not verify with this node's log keys")
	}
	ctx, cancel := context.WithTimeout(n.ctx, dbTimeout)
	defer cancel()
	raw, err := l.Checkpoint(ctx)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, fmt.Sprintf("the log in %s has no checkpoint, but the cluster's log has %d leaves: is it the shared log directory?", n.cfg.Log.Dir, old.Size))
	}
	cur, err := n.verifier.VerifyCheckpoint(raw)
	if err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, "the log's own checkpoint does not verify")
	}
	if cur.Size < old.Size {
		return ronghe.Errorf(ronghe.EINTEGRITY, "the log in %s has %d leaves, but the cluster's log has %d: it is not the shared log directory", n.cfg.Log.Dir, cur.Size, old.Size)
	}
	proof, err := l.ConsistencyProof(ctx, old.Size, cur.Size)
	if err != nil {
		return fmt.Errorf("consistency proof %d to %d: %w", old.Size, cur.Size, err)
	}
	if err := client.VerifyConsistency(old, cur, proof); err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, fmt.Sprintf("the log in %s is not an extension of the cluster's log", n.cfg.Log.Dir))
	}
	return nil
}

// check is the leader's periodic duty: confirm the term (stepping down if it
// was superseded or cannot be confirmed for LeaseTimeout), record the latest
// published checkpoint, and re-take the lock if its session was lost while
// nobody else took it.
func (n *Node) check() {
	n.mu.RLock()
	lead := n.lead
	n.mu.RUnlock()
	if lead == nil {
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, dbTimeout)
	defer cancel()
	var cp []byte
	var size uint64
	if raw, err := lead.log.Checkpoint(ctx); err == nil {
		if c, err := n.verifier.VerifyCheckpoint(raw); err == nil {
			cp, size = raw, c.Size
		} else {
			n.log.Error("cluster: the published checkpoint does not verify", slog.Any("err", err))
		}
	}
	ok, err := n.reg.heartbeat(ctx, n.cfg.NodeID, lead.term, cp, size)
	switch {
	case err != nil:
		if n.ctx.Err() != nil {
			return
		}
		if since := time.Since(lead.confirmed); since > n.cfg.LeaseTimeout {
			_ = n.stepDown(fmt.Sprintf("leadership unconfirmed for %v: %v", since.Round(time.Millisecond), err))
		} else {
			n.log.Warn("cluster: cannot confirm leadership", slog.Any("err", err))
		}
		return
	case !ok:
		_ = n.stepDown("another node claimed a newer term")
		return
	}
	lead.confirmed = time.Now()
	// Our session holds the lock unless it died; then anyone may take it,
	// and if we can, nobody else has, so we keep leading under a new session.
	release, won, err := n.cfg.DB.TryLeader(ctx, LockName)
	if err == nil && won {
		n.mu.Lock()
		old := lead.release
		lead.release = release
		n.mu.Unlock()
		old()
		n.log.Warn("cluster: the leadership lock was lost with its database session and taken again", slog.Int64("term", lead.term))
	}
}

// stepDown stops leading: new calls are refused at once (followers
// re-resolve), the log is closed (appends in flight finish and a final
// checkpoint is published), then the lock and the address are released.
func (n *Node) stepDown(reason string) error {
	n.mu.Lock()
	lead := n.lead
	n.lead = nil
	n.mu.Unlock()
	if lead == nil {
		return nil
	}
	n.log.Warn("cluster: stepping down as log writer", slog.Int64("term", lead.term), slog.String("reason", reason))
	err := lead.log.Close()
	if err != nil {
		n.log.Warn("cluster: closing the log", slog.Any("err", err))
	}
	n.mu.Lock()
	release := lead.release
	n.mu.Unlock()
	release()
	n.resign(lead.term)
	return err
}

// resign clears this node's address for term, best effort: a follower that
// still calls it is told it is not the leader.
func (n *Node) resign(term int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(n.ctx), dbTimeout)
	defer cancel()
	if err := n.reg.resign(ctx, n.cfg.NodeID, term); err != nil {
		n.log.Warn("cluster: clearing the leader address", slog.Int64("term", term), slog.Any("err", err))
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

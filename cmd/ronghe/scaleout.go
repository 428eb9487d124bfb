package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ronghe/ronghe/cluster"
	"github.com/ronghe/ronghe/pki"
	"github.com/ronghe/ronghe/sqlstore"
	"github.com/ronghe/ronghe/tlog"
)

// txLog is the transparency log as the platform uses it: the local writer
// (*tlog.Log) with the embedded SQLite store, or this process's cluster node,
// which writes while it leads and forwards to the leader otherwise, with
// PostgreSQL. Either way it serves the log's public tiles from the log
// directory.
type txLog interface {
	Append(ctx context.Context, leaf []byte) (uint64, error)
	AwaitCheckpoint(ctx context.Context, index uint64) ([]byte, uint64, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
	Handler() http.Handler
	Close() error
}

// clusterFlags place one serve process among the processes of a scaled-out
// deployment (one PostgreSQL database, one object store, one log directory).
type clusterFlags struct {
	logDir    string
	nodeID    string
	listen    string
	advertise string
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.logDir, "log-dir", os.Getenv("RONGHE_LOG_DIR"), "transparency log directory (default <data>/log); with PostgreSQL, every serve process must name the same directory (a shared volume)")
	fs.StringVar(&c.nodeID, "node-id", os.Getenv("RONGHE_NODE_ID"), "this process's name among the serve processes of one PostgreSQL database (default <host>-<random>)")
	fs.StringVar(&c.listen, "cluster-listen", envOr("RONGHE_CLUSTER_LISTEN", "127.0.0.1:0"), "with PostgreSQL: address of the internal endpoint (mutual TLS, node certificates only) where the log writer takes the other processes' appends")
	fs.StringVar(&c.advertise, "cluster-advertise", os.Getenv("RONGHE_CLUSTER_ADVERTISE"), "address the other processes dial to reach this one's internal endpoint (default: the address it listens on)")
}

// openLog opens the transparency log for the platform. With SQLite this
// process is the only one and writes the log itself. With PostgreSQL it joins
// the cluster: it campaigns to be the log's single writer and forwards its
// appends to whichever process is (see package cluster).
func openLog(ctx context.Context, cfg platformConfig, db *sqlstore.DB, keys *platformKeys) (txLog, error) {
	dir := cfg.cluster.logDir
	if dir == "" {
		dir = filepath.Join(cfg.store.data, "log")
	}
	lcfg := tlog.Config{Dir: dir, Origin: cfg.store.origin, Ed25519: keys.edPrivate(), SM2: keys.smPrivate(), Logger: cfg.logger}
	if db.Dialect() != sqlstore.DialectPostgres {
		l, err := tlog.Open(ctx, lcfg)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	// A process that does not write still serves the tiles other processes
	// wrote, from the shared directory.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	h, err := tlog.NewHandler(dir)
	if err != nil {
		return nil, err
	}
	id := cfg.cluster.nodeID
	if id == "" {
		if id, err = defaultNodeID(); err != nil {
			return nil, err
		}
	}
	n, err := cluster.Start(ctx, cluster.Config{
		DB: db, CA: keys.ca, NodeID: id, Listen: cfg.cluster.listen, Advertise: cfg.cluster.advertise,
		Log: lcfg, Logger: cfg.logger,
	})
	if err != nil {
		return nil, err
	}
	return clusterLog{n, h}, nil
}

// clusterLog is a cluster node with the public tile handler of the shared
// log directory.
type clusterLog struct {
	*cluster.Node
	handler http.Handler
}

func (c clusterLog) Handler() http.Handler { return c.handler }

// defaultNodeID names a process by its host and a random suffix, so that
// two processes on one host differ.
func defaultNodeID() (string, error) {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, host)
	host = strings.Trim(host, ".-_")
	if len(host) > 40 {
		host = host[:40]
	}
	if host == "" {
		host = "node"
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := host + "-" + hex.EncodeToString(b[:])
	if !pki.ValidNodeID(id) {
		return "", fmt.Errorf("cannot derive a node ID from host name %q; set --node-id", host)
	}
	return id, nil
}

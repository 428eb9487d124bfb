package client

import (
	"context"
	"net/url"

	"github.com/ronghe/ronghe"
	tlogclient "github.com/ronghe/ronghe/tlog/client"
	tessera "github.com/transparency-dev/tessera/client"
)

// LogPath is where the platform serves its transparency log as C2SP
// tlog-tiles.
const LogPath = "/log/"

// logFetcher reads the platform's log tiles over the client's TLS connection.
func (c *Client) logFetcher() (*tessera.HTTPFetcher, error) {
	u, err := url.Parse(c.base + LogPath)
	if err != nil {
		return nil, err
	}
	return tessera.NewHTTPFetcher(u, c.http)
}

// Checkpoint fetches the log's latest checkpoint and verifies both of its
// signatures against the pinned platform identity.
func (c *Client) Checkpoint(ctx context.Context, v *Verifier) (tlogclient.Checkpoint, []byte, error) {
	f, err := c.logFetcher()
	if err != nil {
		return tlogclient.Checkpoint{}, nil, err
	}
	raw, err := f.ReadCheckpoint(ctx)
	if err != nil {
		return tlogclient.Checkpoint{}, nil, ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot read the log checkpoint: "+err.Error())
	}
	cp, err := v.log.VerifyCheckpoint(raw)
	if err != nil {
		return tlogclient.Checkpoint{}, nil, ronghe.WrapError(ronghe.EINTEGRITY, err, "log checkpoint does not verify: "+err.Error())
	}
	return cp, raw, nil
}

// VerifyConsistency proves, from the log's public tiles, that the tree of
// newer extends the tree of older: the platform has not rewritten history
// between the two checkpoints. Both must already be verified checkpoints.
func (c *Client) VerifyConsistency(ctx context.Context, older, newer tlogclient.Checkpoint) error {
	if older.Size > newer.Size {
		return ronghe.Errorf(ronghe.EINVALID, "older checkpoint (size %d) is larger than the newer (size %d)", older.Size, newer.Size)
	}
	f, err := c.logFetcher()
	if err != nil {
		return err
	}
	pb, err := tessera.NewProofBuilder(ctx, newer.Size, f.ReadTile)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot read log tiles: "+err.Error())
	}
	proof, err := pb.ConsistencyProof(ctx, older.Size, newer.Size)
	if err != nil {
		return ronghe.WrapError(ronghe.EUNAVAILABLE, err, "cannot build consistency proof: "+err.Error())
	}
	if err := tlogclient.VerifyConsistency(older, newer, proof); err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, "log is not consistent: "+err.Error())
	}
	return nil
}

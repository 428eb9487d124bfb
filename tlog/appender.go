package tlog

import (
	"context"
	"fmt"
)

// Appender adds event leaves to the transparency log. *Log implements it for
// the single writer; a process that does not hold the writer role (see
// README.md, "Two server processes") implements it by forwarding the leaf to the
// leader, which answers with the index its Log assigned. Callers depend on this
// interface, never on *Log, so they do not care which process writes.
//
// Append returns once the leaf is durably sequenced AND integrated into the
// Merkle tree; the index is final. If ctx ends first the leaf may still have
// been logged: events are recorded at least once, never silently dropped.
type Appender interface {
	Append(ctx context.Context, leaf []byte) (uint64, error)
}

// Prover answers the read side of the log: checkpoints and proofs. *Log
// implements it from its own directory; a forwarding implementation can answer
// from the leader, or from the tlog-tiles files served by Handler, since every
// answer is verifiable with package client and needs no trust in the server.
type Prover interface {
	// Checkpoint returns the latest published signed checkpoint note.
	Checkpoint(ctx context.Context) ([]byte, error)
	// AwaitCheckpoint blocks until a published checkpoint covers index and
	// returns it with its tree size (size > index).
	AwaitCheckpoint(ctx context.Context, index uint64) (checkpoint []byte, size uint64, err error)
	// InclusionProof proves the leaf at index is in the tree of the given size.
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
	// ConsistencyProof proves the tree of size to extends the tree of size from.
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
	// Leaf returns the entry at index, for evidence bundles.
	Leaf(ctx context.Context, index uint64) ([]byte, error)
}

// Receipt is what the platform hands back for a recorded event: the leaf, its
// index, a signed checkpoint that already covers it, and the inclusion proof of
// the leaf in that checkpoint. Anyone holding the log's verifier keys can check
// it offline with package client.
type Receipt struct {
	// Index is the position of the leaf in the log.
	Index uint64
	// Leaf is the exact logged bytes (Event.Leaf).
	Leaf []byte
	// Checkpoint is the signed checkpoint note, Ed25519 and SM2 signed.
	Checkpoint []byte
	// Size is the tree size of Checkpoint; Size > Index.
	Size uint64
	// Proof is the RFC 6962 inclusion proof of Leaf at Index in Checkpoint.
	Proof [][]byte
}

// Record appends the event, waits for a checkpoint that covers it and builds
// its inclusion proof: the one call a service needs to issue a receipt.
func Record(ctx context.Context, a Appender, p Prover, e Event) (Receipt, error) {
	if err := e.Validate(); err != nil {
		return Receipt{}, err
	}
	leaf := e.Leaf()
	idx, err := a.Append(ctx, leaf)
	if err != nil {
		return Receipt{}, err
	}
	cp, size, err := p.AwaitCheckpoint(ctx, idx)
	if err != nil {
		return Receipt{}, fmt.Errorf("leaf %d appended but no checkpoint yet: %w", idx, err)
	}
	proof, err := p.InclusionProof(ctx, idx, size)
	if err != nil {
		return Receipt{}, fmt.Errorf("inclusion proof for leaf %d: %w", idx, err)
	}
	return Receipt{Index: idx, Leaf: leaf, Checkpoint: cp, Size: size, Proof: proof}, nil
}

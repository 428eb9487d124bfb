package client

import (
	"bytes"
	"crypto/sha256"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/ronghe/ronghe"
)

// MaxProofLength bounds the number of hashes in a proof: a tree of 2^64 leaves
// needs at most 64 for inclusion and 65 for consistency.
const MaxProofLength = 65

// LeafHash returns the RFC 6962 leaf hash of a log entry: SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) []byte {
	return rfc6962.DefaultHasher.HashLeaf(leaf)
}

func checkProofShape(p [][]byte) error {
	if len(p) > MaxProofLength {
		return ronghe.Errorf(ronghe.EINVALID, "proof has %d hashes, more than %d", len(p), MaxProofLength)
	}
	for i, h := range p {
		if len(h) != sha256.Size {
			return ronghe.Errorf(ronghe.EINVALID, "proof hash %d has %d bytes, want %d", i, len(h), sha256.Size)
		}
	}
	return nil
}

func checkRoot(cp Checkpoint) error {
	if len(cp.Hash) != sha256.Size {
		return ronghe.Errorf(ronghe.EINVALID, "checkpoint root hash has %d bytes, want %d", len(cp.Hash), sha256.Size)
	}
	return nil
}

// VerifyInclusion checks that leaf is the entry at index in the tree the
// checkpoint commits to. The checkpoint must already have been verified with
// LogVerifier.VerifyCheckpoint. It fails with EINTEGRITY if the proof does not
// lead to the checkpoint's root hash.
func VerifyInclusion(leaf []byte, index uint64, p [][]byte, cp Checkpoint) error {
	return VerifyInclusionHash(LeafHash(leaf), index, p, cp)
}

// VerifyInclusionHash is VerifyInclusion for a caller that holds only the
// RFC 6962 leaf hash of the entry.
func VerifyInclusionHash(leafHash []byte, index uint64, p [][]byte, cp Checkpoint) error {
	if len(leafHash) != sha256.Size {
		return ronghe.Errorf(ronghe.EINVALID, "leaf hash has %d bytes, want %d", len(leafHash), sha256.Size)
	}
	if err := checkRoot(cp); err != nil {
		return err
	}
	if index >= cp.Size {
		return ronghe.Errorf(ronghe.EINVALID, "index %d is outside a tree of size %d", index, cp.Size)
	}
	if err := checkProofShape(p); err != nil {
		return err
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, leafHash, p, cp.Hash); err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, "inclusion proof does not match the checkpoint")
	}
	return nil
}

// VerifyConsistency checks that the tree of newer extends the tree of older,
// i.e. that the log stayed append-only between the two checkpoints. Both must
// already have been verified and have the same origin. Equal sizes need an empty
// proof and equal roots; an older size of zero is consistent with anything.
func VerifyConsistency(older, newer Checkpoint, p [][]byte) error {
	if older.Origin != newer.Origin {
		return ronghe.Errorf(ronghe.EINVALID, "checkpoints come from different logs (%q, %q)", older.Origin, newer.Origin)
	}
	if err := checkRoot(older); err != nil {
		return err
	}
	if err := checkRoot(newer); err != nil {
		return err
	}
	if older.Size > newer.Size {
		return ronghe.Errorf(ronghe.EINVALID, "older checkpoint size %d exceeds newer size %d", older.Size, newer.Size)
	}
	if err := checkProofShape(p); err != nil {
		return err
	}
	if older.Size == 0 {
		// RFC 6962 defines the empty tree's hash; a checkpoint of size 0 that
		// claims another root is not a checkpoint of this kind of log.
		if !bytes.Equal(older.Hash, rfc6962.DefaultHasher.EmptyRoot()) {
			return ronghe.Errorf(ronghe.EINTEGRITY, "checkpoint of size 0 has a non-empty root hash")
		}
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, older.Size, newer.Size, p, older.Hash, newer.Hash); err != nil {
		return ronghe.WrapError(ronghe.EINTEGRITY, err, "consistency proof does not match the checkpoints")
	}
	return nil
}

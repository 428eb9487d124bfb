// Package client verifies what the Ronghe transparency log publishes without
// trusting the server that publishes it.
//
// A verifier is configured with the log's origin and its two public keys: the
// Ed25519 key (standard signed-note type 0x01) and the SM2 co-signing key (a
// private signed-note type, see SM2SignatureType). A checkpoint is accepted only
// if BOTH signatures are present and valid. Inclusion and consistency proofs are
// checked with RFC 6962 hashing (SHA-256), exactly as the C2SP tlog-tiles logs
// produced by Tessera define them.
//
// Everything here is a pure function of its inputs: no network, no clock, no
// files, so `ronghe verify` can check evidence bundles offline.
package client

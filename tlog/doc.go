// Package tlog is the Ronghe transparency log: every exchange event is appended
// as a canonical, digest-only leaf (Event.Leaf) to a C2SP tlog-tiles log kept by
// Tessera's POSIX driver, and every checkpoint carries an Ed25519 signature and
// an SM2 co-signature, so anyone holding the platform's two public keys can
// check with package tlog/client that an event was logged and that the log
// only grew.
//
// One process at a time writes a log directory (Open takes an exclusive lock);
// other processes forward appends through the Appender interface. README.md in
// this directory documents the leaf and key formats, the receipt checkpoints
// that keep receipt latency low, the signing guard, and the single-writer and
// leader/follower arrangements.
package tlog

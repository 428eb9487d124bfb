// Package cluster lets several `ronghe serve` processes that share one
// PostgreSQL database, one object store and one log directory accept
// submissions together while the transparency log keeps exactly one writer.
//
// A Node is one process's membership. It implements the exchange's Log
// (Append, AwaitCheckpoint, InclusionProof) for the whole process, whether or
// not the process is the writer:
//
//   - Election. Every node campaigns, every CampaignInterval, for the
//     PostgreSQL session advisory lock "ronghe/tlog-writer"
//     (sqlstore.DB.TryLeader). The winner claims the next term in the table
//     cluster_leaders (term+1, its node ID, no address yet), opens the log with
//     tlog.Open — whose flock(2) on the log directory is the second fence: it
//     fails with ECONFLICT while any other process still has the log open, and
//     the winner retries until the previous writer is gone — checks that the
//     log it opened continues the history the cluster has seen (a consistency
//     proof from the last checkpoint a leader recorded), and only then writes
//     its internal address into the row. From then on it appends locally.
//   - Following. A node that does not lead forwards each call over mutual TLS
//     to the address in cluster_leaders, sending the term it read. An append
//     is forwarded as one "record" call: the leader appends, waits for a
//     checkpoint and builds the inclusion proof; the follower verifies the
//     checkpoint's two signatures and the proof before using the answer
//     (AwaitCheckpoint and InclusionProof of that index are then answered from
//     it), so a follower never trusts the leader for anything it issues.
//   - Staying leader. Every CheckInterval the leader confirms its term in
//     cluster_leaders and records its latest published checkpoint there. If
//     another node has claimed a newer term, or the leader cannot confirm its
//     term for LeaseTimeout, it steps down: it refuses new calls (followers
//     re-resolve), closes the log (in-flight appends finish, a final
//     checkpoint is published, the flock is released) and releases the lock.
//   - Failover. When a leader dies its database session ends, PostgreSQL
//     drops the advisory lock and the kernel drops the flock; a follower wins
//     the next campaign, opens the log and publishes its address; followers
//     whose call fails to connect, or is answered "not the leader", re-read
//     the row and retry, waiting up to LeaderWait for a leader. A forwarded
//     append whose outcome is unknown (the connection broke after the request
//     was sent) is never retried: it fails with EUNAVAILABLE and the caller
//     retries the whole operation, which may log the same event twice (the
//     exchange's accept-once store rule still issues one receipt).
//
// The internal endpoint accepts only TLS 1.3 clients presenting a certificate
// the platform CA issued to a node (pki.IssueNode, URI SAN
// urn:ronghe:node:<id>); institution certificates, the public server
// certificate and anonymous clients fail the handshake. A follower likewise
// accepts only the node the registry names as leader.
//
// The package needs PostgreSQL; with the embedded SQLite store the platform is
// one process and opens its log directly.
package cluster

// Package ronghe holds the domain of the Ronghe platform: the parties, the
// messages they exchange, the errors every layer speaks, and the service
// interfaces that the storage, crypto, log and HTTP packages implement.
//
// The root package imports nothing but the standard library. Each dependency
// lives in a package of its own (sqlstore, blobstore, tlog, suite, httpapi)
// and cmd/ronghe wires them together; see docs/architecture.md.
package ronghe

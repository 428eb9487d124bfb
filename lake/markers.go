package lake

import (
	"sync"

	"github.com/apache/iceberg-go/table"

	"github.com/ronghe/ronghe/rrs"
)

// markerIndex is what the snapshot summaries of one table's current
// lineage say, indexed: per institution and date the newest ingest that
// recorded it, and per (batch, digest) the newest snapshot that ingested
// it. It answers what knownRows and findMarker answer — the same function
// of the table metadata — without walking and parsing the whole lineage for
// every batch: the Lake keeps one per table and brings it up to date by
// parsing only the snapshots committed since (the lineage's snapshot IDs
// are still compared in full, so expiry or a rewritten history rebuilds
// it). An ingest's checks then cost the same whatever the table's history.
type markerIndex struct {
	lineage     []int64 // snapshot IDs, oldest first
	complete    bool    // lineage[0] is the table's first snapshot (no parent)
	lastForeign int     // 1 + position of the newest snapshot not the lake's own (or malformed); 0 when none
	keys        map[string]keyState
	markers     map[string]markerAt
}

// keyState is the newest ingest of an institution and date.
type keyState struct {
	pos  int // 1 + position in the lineage
	rows int64
	seq  int
}

// markerAt is the newest snapshot that recorded a batch.
type markerAt struct {
	snapshotID int64
	m          marker
}

func newMarkerIndex() *markerIndex {
	return &markerIndex{keys: map[string]keyState{}, markers: map[string]markerAt{}}
}

// markerKey is the markers map key of batch and digest.
func markerKey(batch, digest string) string { return batch + "\x00" + digest }

// rowsKey is the keys map key of an institution and date.
func rowsKey(id rrs.BatchID) string { return id.InstCode + "_" + id.Date.Compact() }

// apply adds snapshot s, the child of the last one indexed.
func (x *markerIndex) apply(s *table.Snapshot) {
	x.lineage = append(x.lineage, s.SnapshotID)
	pos := len(x.lineage)
	if s.Summary == nil {
		x.lastForeign = pos
		return
	}
	p := s.Summary.Properties
	switch p[PropSumOperation] {
	case "compact":
		return
	case "ingest":
	default:
		x.lastForeign = pos
		return
	}
	ms, valid := markersOf(p)
	if !valid {
		x.lastForeign = pos
		return
	}
	for _, m := range ms {
		x.markers[markerKey(m.batch, m.digest)] = markerAt{snapshotID: s.SnapshotID, m: m}
		bid, err := rrs.ParseBatchID(m.batch)
		if err != nil {
			// knownRows gives up on such a marker of the key it looks for;
			// give up on every key the snapshot could hold.
			x.lastForeign = pos
			continue
		}
		k := rowsKey(bid)
		if cur, ok := x.keys[k]; ok && cur.pos == pos {
			continue // the first marker of a key in a snapshot counts
		}
		x.keys[k] = keyState{pos: pos, rows: m.rows, seq: bid.Seq}
	}
}

// known is knownRows over the index.
func (x *markerIndex) known(id rrs.BatchID) (existing, bool) {
	if len(x.lineage) == 0 {
		return existing{}, true
	}
	if k, ok := x.keys[rowsKey(id)]; ok {
		if k.pos > x.lastForeign {
			return existing{n: k.rows, maxSeq: k.seq}, true
		}
		return existing{}, false
	}
	return existing{}, x.lastForeign == 0 && x.complete
}

// find is findMarker over the index: the snapshot that ingested batch with
// digest and its marker; ok is false when none did.
func (x *markerIndex) find(batch, digest string) (snapshotID int64, m marker, ok bool) {
	at, ok := x.markers[markerKey(batch, digest)]
	return at.snapshotID, at.m, ok
}

// tableMarkers is a table's cached index.
type tableMarkers struct {
	mu  sync.Mutex
	idx *markerIndex
}

// withMarkers calls f with the index of meta's current lineage: table t's
// cached index brought up to date when meta is at or after the cached head
// (only the newer snapshots are parsed), else one built afresh. f runs
// under the table's index lock and must not keep the index.
func (l *Lake) withMarkers(t rrs.Type, meta table.Metadata, f func(x *markerIndex)) {
	cur := meta.CurrentSnapshot()
	if cur == nil {
		f(newMarkerIndex())
		return
	}
	l.mu.Lock()
	tm := l.markerCache[t]
	if tm == nil {
		tm = &tableMarkers{}
		l.markerCache[t] = tm
	}
	l.mu.Unlock()
	tm.mu.Lock()
	defer tm.mu.Unlock()

	// The lineage, newest first: IDs, and the snapshots the cached index
	// lacks.
	old := tm.idx
	var ids []int64
	var fresh []*table.Snapshot
	complete := false
	seen := map[int64]bool{}
	for s := cur; ; {
		if seen[s.SnapshotID] {
			break // a cycle in malformed metadata: incomplete
		}
		seen[s.SnapshotID] = true
		ids = append(ids, s.SnapshotID)
		if old == nil || len(ids) > len(old.lineage) || old.lineage[len(old.lineage)-len(ids)] != s.SnapshotID {
			fresh = append(fresh, s)
		}
		if s.ParentSnapshotID == nil {
			complete = true
			break
		}
		if s = meta.SnapshotByID(*s.ParentSnapshotID); s == nil {
			break
		}
	}
	// Extend the cached index when its lineage is exactly the oldest part
	// of this one, equally complete.
	n := len(ids) - len(fresh)
	if old != nil && n > 0 && n == len(old.lineage) && complete == old.complete && equalReversed(ids[len(fresh):], old.lineage) {
		for i := len(fresh) - 1; i >= 0; i-- {
			old.apply(fresh[i])
		}
		f(old)
		return
	}
	// Build afresh: first use, expiry, a history rewritten by another
	// engine, or meta older than the cached head (then not cached).
	x := newMarkerIndex()
	x.complete = complete
	for i := len(ids) - 1; i >= 0; i-- {
		s := meta.SnapshotByID(ids[i])
		if s == nil { // cannot happen: it was just walked
			s = &table.Snapshot{SnapshotID: ids[i]}
		}
		x.apply(s)
	}
	if old == nil || len(ids) >= len(old.lineage) {
		tm.idx = x
	}
	f(x)
}

// equalReversed reports whether newestFirst reversed equals oldestFirst.
func equalReversed(newestFirst, oldestFirst []int64) bool {
	if len(newestFirst) != len(oldestFirst) {
		return false
	}
	for i, id := range newestFirst {
		if oldestFirst[len(oldestFirst)-1-i] != id {
			return false
		}
	}
	return true
}

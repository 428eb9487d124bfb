package lake

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/ronghe/ronghe/rrs"
)

// TestMarkerIndexAgrees: the cached, incrementally updated marker index
// answers what walking the snapshot lineage answers (knownRows,
// findMarker) after every step — appends, a correction, a compaction, a
// repeat, an expiry — and for an older snapshot's metadata too.
func TestMarkerIndexAgrees(t *testing.T) {
	_, dirs := region(t, 3)
	l := openSQLiteLake(t)
	ctx := context.Background()
	corr, _ := correctionOf(t, dirs[1])
	all := append(append([]string(nil), dirs...), corr)
	check := func(step string) {
		t.Helper()
		for _, typ := range l.Types() {
			tbl, err := l.Table(ctx, typ)
			if err != nil {
				t.Fatal(err)
			}
			meta := tbl.Metadata()
			for _, d := range all {
				id, _ := rrs.ParseBatchID(filepath.Base(d))
				wantEx, wantOK := knownRows(meta, id)
				wantSnap, wantM := findMarker(meta, id.String(), hex.EncodeToString(nil))
				l.withMarkers(typ, meta, func(x *markerIndex) {
					gotEx, gotOK := x.known(id)
					if gotOK != wantOK || gotEx.n != wantEx.n || gotEx.maxSeq != wantEx.maxSeq {
						t.Fatalf("%s: %s %s: index says %+v %v, lineage %+v %v", step, typ, id, gotEx, gotOK, wantEx, wantOK)
					}
					snap, m, ok := x.find(id.String(), "")
					if ok != (wantSnap != nil) || (ok && (snap != wantSnap.SnapshotID || m != wantM)) {
						t.Fatalf("%s: %s %s: index finds %d %+v %v, lineage %v %+v", step, typ, id, snap, m, ok, wantSnap, wantM)
					}
				})
			}
		}
	}
	check("empty")
	for i, d := range dirs {
		ingestDir(t, l, d, Lineage{})
		if i%3 == 0 {
			check("append " + filepath.Base(d))
		}
	}
	check("appends")
	old, err := l.Table(ctx, rrs.TXN)
	if err != nil {
		t.Fatal(err)
	}
	ingestDir(t, l, corr, Lineage{})
	check("correction")
	ingestDir(t, l, dirs[0], Lineage{})
	check("repeat")
	if _, err := l.Compact(ctx, CompactOptions{MinInputFiles: 2}); err != nil {
		t.Fatal(err)
	}
	check("compaction")
	// An older table version after the index moved on.
	for _, d := range all {
		id, _ := rrs.ParseBatchID(filepath.Base(d))
		want, wantOK := knownRows(old.Metadata(), id)
		l.withMarkers(rrs.TXN, old.Metadata(), func(x *markerIndex) {
			if got, ok := x.known(id); ok != wantOK || got.n != want.n || got.maxSeq != want.maxSeq {
				t.Fatalf("older metadata: %s: index %+v %v, lineage %+v %v", id, got, ok, want, wantOK)
			}
		})
	}
	check("after an older version")
	time.Sleep(5 * time.Millisecond)
	if _, err := l.Expire(ctx, ExpireOptions{OlderThan: time.Millisecond, RetainLast: 3}); err != nil {
		t.Fatal(err)
	}
	check("expiry")
	ingestDir(t, l, dirs[2], Lineage{})
	check("repeat after expiry")
}

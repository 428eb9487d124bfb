package tlog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/ronghe/ronghe/tlog/client"
)

const testOrigin = "ronghe.example/log"

// testKeys holds one set of log keys for a test.
type testKeys struct {
	ed ed25519.PrivateKey
	sm *sm2.PrivateKey
}

func newTestKeys(tb testing.TB) testKeys {
	tb.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	sm, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return testKeys{ed: ed, sm: sm}
}

func (k testKeys) config(dir string) Config {
	return Config{Dir: dir, Origin: testOrigin, Ed25519: k.ed, SM2: k.sm, Logger: slog.New(slog.DiscardHandler)}
}

func (k testKeys) verifier(tb testing.TB) *client.LogVerifier {
	tb.Helper()
	v, err := client.NewLogVerifierFromKeys(testOrigin, k.ed.Public().(ed25519.PublicKey), &k.sm.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func openTestLog(tb testing.TB, k testKeys, dir string) *Log {
	tb.Helper()
	l, err := Open(context.Background(), k.config(dir))
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

// testEvent returns a distinct valid event for sequence number i.
func testEvent(i int) Event {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i))
	d := sha256.Sum256(seed[:])
	kinds := []string{KindSubmissionAccepted, KindMessageDelivered, KindMessageAcknowledged, KindQueryRecorded}
	return Event{
		Kind:      kinds[i%len(kinds)],
		Tenant:    fmt.Sprintf("B%04d", i%97),
		MessageID: fmt.Sprintf("msg-%08d", i),
		Digest:    d[:],
		Time:      time.Date(2025, 3, 1, 2, 3, 4, i, time.UTC),
	}
}

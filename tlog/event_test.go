package tlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ronghe/ronghe"
)

var digest32 = bytes.Repeat([]byte{0xab}, 32)

func TestLeafGolden(t *testing.T) {
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{
			"submission with nanoseconds",
			Event{Kind: KindSubmissionAccepted, Tenant: "B1234567890123", MessageID: "01JD8ZK3Q9W5", Digest: digest32,
				Time: time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)},
			"ronghe-event/v1 submission.accepted B1234567890123 01JD8ZK3Q9W5 " + strings.Repeat("ab", 32) + " 2025-01-02T03:04:05.123456789Z",
		},
		{
			"Shanghai time is written in UTC, trailing zeros trimmed",
			Event{Kind: KindMessageDelivered, Tenant: "bank.a", MessageID: "m-1", Digest: digest32,
				Time: time.Date(2025, 1, 2, 8, 0, 0, 500000000, time.FixedZone("CST", 8*3600))},
			"ronghe-event/v1 message.delivered bank.a m-1 " + strings.Repeat("ab", 32) + " 2025-01-02T00:00:00.5Z",
		},
		{
			"no message id",
			Event{Kind: KindKeyRegistered, Tenant: "E91310000MA1", Digest: digest32, Time: time.Date(2030, 12, 31, 23, 59, 59, 0, time.UTC)},
			"ronghe-event/v1 key.registered E91310000MA1 - " + strings.Repeat("ab", 32) + " 2030-12-31T23:59:59Z",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.e.Leaf())
			if got != tc.want {
				t.Fatalf("Leaf() =\n%s\nwant\n%s", got, tc.want)
			}
			back, err := ParseLeaf([]byte(got))
			if err != nil {
				t.Fatalf("ParseLeaf: %v", err)
			}
			if back.Kind != tc.e.Kind || back.Tenant != tc.e.Tenant || back.MessageID != tc.e.MessageID ||
				!bytes.Equal(back.Digest, tc.e.Digest) || !back.Time.Equal(tc.e.Time) || back.Time.Location() != time.UTC {
				t.Fatalf("round trip: got %+v, want %+v", back, tc.e)
			}
		})
	}
}

func TestAllKindsRoundTrip(t *testing.T) {
	for kind := range kinds {
		e := Event{Kind: kind, Tenant: "t", MessageID: "m", Digest: digest32, Time: time.Unix(1700000000, 1).UTC()}
		leaf := e.Leaf()
		if leaf == nil {
			t.Fatalf("kind %s: nil leaf", kind)
		}
		if _, err := ParseLeaf(leaf); err != nil {
			t.Fatalf("kind %s: %v", kind, err)
		}
	}
}

func TestEventValidate(t *testing.T) {
	ok := Event{Kind: KindQueryRecorded, Tenant: "t", MessageID: "m", Digest: digest32, Time: time.Unix(1, 0)}
	tests := []struct {
		name   string
		modify func(e *Event)
	}{
		{"unknown kind", func(e *Event) { e.Kind = "submission.rejected" }},
		{"empty kind", func(e *Event) { e.Kind = "" }},
		{"empty tenant", func(e *Event) { e.Tenant = "" }},
		{"tenant with space", func(e *Event) { e.Tenant = "a b" }},
		{"tenant with newline", func(e *Event) { e.Tenant = "a\nb" }},
		{"tenant with slash", func(e *Event) { e.Tenant = "a/b" }},
		{"tenant non-ASCII", func(e *Event) { e.Tenant = "银行" }},
		{"tenant too long", func(e *Event) { e.Tenant = strings.Repeat("a", MaxIDLength+1) }},
		{"message id dash", func(e *Event) { e.MessageID = "-" }},
		{"message id with space", func(e *Event) { e.MessageID = "m 1" }},
		{"short digest", func(e *Event) { e.Digest = digest32[:31] }},
		{"long digest", func(e *Event) { e.Digest = append(bytes.Clone(digest32), 0) }},
		{"no digest", func(e *Event) { e.Digest = nil }},
		{"zero time", func(e *Event) { e.Time = time.Time{} }},
		{"year 10000", func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid event: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			tc.modify(&e)
			if err := e.Validate(); ronghe.ErrorCode(err) != ronghe.EINVALID {
				t.Fatalf("Validate = %v, want EINVALID", err)
			}
			if leaf := e.Leaf(); leaf != nil {
				t.Fatalf("Leaf of an invalid event = %q, want nil", leaf)
			}
		})
	}
}

func TestParseLeafRejects(t *testing.T) {
	d := strings.Repeat("ab", 32)
	tests := []struct {
		name, leaf, code string
	}{
		{"empty", "", ronghe.EINVALID},
		{"other format", "hello world", ronghe.EINVALID},
		{"future version", "ronghe-event/v2 submission.accepted t m " + d + " 2025-01-01T00:00:00Z", ronghe.EUNSUPPORTED},
		{"missing field", "ronghe-event/v1 submission.accepted t " + d + " 2025-01-01T00:00:00Z", ronghe.EINVALID},
		{"extra field", "ronghe-event/v1 submission.accepted t m " + d + " 2025-01-01T00:00:00Z x", ronghe.EINVALID},
		{"trailing newline", "ronghe-event/v1 submission.accepted t m " + d + " 2025-01-01T00:00:00Z\n", ronghe.EINVALID},
		{"double space", "ronghe-event/v1  submission.accepted t m " + d + " 2025-01-01T00:00:00Z", ronghe.EINVALID},
		{"unknown kind", "ronghe-event/v1 submission.lost t m " + d + " 2025-01-01T00:00:00Z", ronghe.EINVALID},
		{"uppercase hex", "ronghe-event/v1 submission.accepted t m " + strings.ToUpper(d) + " 2025-01-01T00:00:00Z", ronghe.EINVALID},
		{"short digest", "ronghe-event/v1 submission.accepted t m " + d[2:] + " 2025-01-01T00:00:00Z", ronghe.EINVALID},
		{"non-hex digest", "ronghe-event/v1 submission.accepted t m " + strings.Repeat("zz", 32) + " 2025-01-01T00:00:00Z", ronghe.EINVALID},
		{"offset time", "ronghe-event/v1 submission.accepted t m " + d + " 2025-01-01T08:00:00+08:00", ronghe.EINVALID},
		{"trailing zero", "ronghe-event/v1 submission.accepted t m " + d + " 2025-01-01T00:00:00.10Z", ronghe.EINVALID},
		{"lowercase z", "ronghe-event/v1 submission.accepted t m " + d + " 2025-01-01T00:00:00z", ronghe.EINVALID},
		{"date only", "ronghe-event/v1 submission.accepted t m " + d + " 2025-01-01", ronghe.EINVALID},
		{"zero time", "ronghe-event/v1 submission.accepted t m " + d + " 0001-01-01T00:00:00Z", ronghe.EINVALID},
		{"bad tenant", "ronghe-event/v1 submission.accepted t\tx m " + d + " 2025-01-01T00:00:00Z", ronghe.EINVALID},
		{"too large", strings.Repeat("x", MaxLeafSize+1), ronghe.ETOOLARGE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLeaf([]byte(tc.leaf))
			if got := ronghe.ErrorCode(err); got != tc.code {
				t.Fatalf("ParseLeaf(%q) error %v (code %q), want %q", tc.leaf, err, got, tc.code)
			}
		})
	}
}

func FuzzParseLeaf(f *testing.F) {
	f.Add([]byte(testEvent(1).Leaf()))
	f.Add([]byte(Event{Kind: KindKeyRevoked, Tenant: "x", Digest: digest32, Time: time.Unix(0, 1)}.Leaf()))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "leaves", "*"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, leaf []byte) {
		e, err := ParseLeaf(leaf)
		if err != nil {
			if e.Kind != "" || e.Digest != nil {
				t.Fatalf("ParseLeaf returned a partial event with an error")
			}
			return
		}
		// Accepted leaves are canonical: re-encoding gives the same bytes.
		if got := e.Leaf(); !bytes.Equal(got, leaf) {
			t.Fatalf("ParseLeaf accepted a non-canonical leaf:\n in  %q\n out %q", leaf, got)
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("ParseLeaf returned an invalid event: %v", err)
		}
	})
}

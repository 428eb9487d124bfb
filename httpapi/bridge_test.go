package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	expslog "golang.org/x/exp/slog"

	"github.com/ronghe/ronghe/exchange"
)

// The exchange service is what the wiring passes as Exchange.
var _ Exchange = (*exchange.Service)(nil)

func TestSlogBridge(t *testing.T) {
	tests := []struct {
		level     expslog.Level
		wantLevel string // "" when filtered out at Info
	}{
		{expslog.LevelDebug, ""},
		{expslog.LevelInfo, ""}, // tusd's per-request lines repeat the access log
		{expslog.LevelWarn, "WARN"},
		{expslog.LevelError, "ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			l := expslog.New(slogBridge{h: slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})})
			l.With("id", "u1").WithGroup("g").Log(context.Background(), tc.level, "ResponseOutgoing", "status", 204, expslog.Group("sub", "k", "v"))
			if tc.wantLevel == "" {
				if buf.Len() != 0 {
					t.Fatalf("logged %s", buf.String())
				}
				return
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, buf.String())
			}
			g, _ := rec["g"].(map[string]any)
			sub, _ := g["sub"].(map[string]any)
			if rec["level"] != tc.wantLevel || rec["msg"] != "tusd: ResponseOutgoing" || rec["id"] != "u1" || g["status"] != float64(204) || sub["k"] != "v" {
				t.Fatalf("record %v", rec)
			}
		})
	}
}

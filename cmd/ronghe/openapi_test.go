package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenAPIGolden keeps docs/openapi.json, the published API description,
// equal to the document the fully wired platform generates. Run with
// RONGHE_UPDATE_OPENAPI=1 to rewrite it after changing a route.
func TestOpenAPIGolden(t *testing.T) {
	cfg := platformConfig{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.store = storeFlags{data: t.TempDir(), origin: "ronghe.test/log"}
	p, err := openPlatform(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, p.api.OpenAPI(), "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("..", "..", "docs", "openapi.json")
	if os.Getenv("RONGHE_UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with RONGHE_UPDATE_OPENAPI=1 to create it)", err)
	}
	if !bytes.Equal(got, pretty.Bytes()) {
		t.Fatal("docs/openapi.json is stale: run RONGHE_UPDATE_OPENAPI=1 go test ./cmd/ronghe -run TestOpenAPIGolden")
	}
}

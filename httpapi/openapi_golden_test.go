package httpapi

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenAPIGolden keeps docs/openapi.json, the published API description,
// equal to the document the code generates. Run with RONGHE_UPDATE_OPENAPI=1
// to rewrite it after changing a route.
func TestOpenAPIGolden(t *testing.T) {
	e := newEnv(t)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, e.srv.OpenAPI(), "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("..", "docs", "openapi.json")
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
		t.Fatalf("docs/openapi.json is stale: run RONGHE_UPDATE_OPENAPI=1 go test ./httpapi -run TestOpenAPIGolden")
	}
}

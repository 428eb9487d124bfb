package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func loadDoc(t *testing.T, s *Server) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(s.OpenAPI(), &doc); err != nil {
		t.Fatalf("OpenAPI document is not JSON: %v", err)
	}
	return doc
}

func TestOpenAPICompleteness(t *testing.T) {
	e := newEnv(t)
	doc := loadDoc(t, e.srv)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)

	// Every route of the table is documented and mounted on the mux.
	ids := map[string]bool{}
	want := map[string]bool{}
	for _, rt := range e.srv.routes {
		if ids[rt.id] {
			t.Errorf("operationId %s used twice", rt.id)
		}
		ids[rt.id] = true
		key := strings.ToLower(rt.method) + " " + openAPIPath(rt.path)
		want[key] = true
		item, _ := paths[openAPIPath(rt.path)].(map[string]any)
		op, _ := item[strings.ToLower(rt.method)].(map[string]any)
		if op == nil {
			t.Errorf("%s is not in the document", key)
			continue
		}
		if op["operationId"] != rt.id {
			t.Errorf("%s: operationId %v, want %s", key, op["operationId"], rt.id)
		}
		sec := op["security"].([]any)
		if rt.auth != (len(sec) == 1) {
			t.Errorf("%s: security %v, auth %v", key, sec, rt.auth)
		}
		responses := op["responses"].(map[string]any)
		if _, ok := responses["default"]; !ok {
			t.Errorf("%s: no default (problem) response", key)
		}
		if _, ok := responses["401"]; rt.auth && !ok {
			t.Errorf("%s: authenticated operation without a 401 response", key)
		}
		for _, name := range pathParams(rt.path) {
			found := false
			for _, p := range op["parameters"].([]any) {
				pm := p.(map[string]any)
				found = found || (pm["in"] == "path" && pm["name"] == name)
			}
			if !found {
				t.Errorf("%s: path parameter %s undocumented", key, name)
			}
		}
		// The mux routes a request of this shape to exactly this pattern.
		path := rt.path
		for _, name := range pathParams(rt.path) {
			path = strings.Replace(strings.Replace(path, "{"+name+"...}", "a/b", 1), "{"+name+"}", "x1", 1)
		}
		req := httptest.NewRequest(rt.method, path, nil)
		if _, pattern := e.srv.mux.Handler(req); pattern != rt.method+" "+rt.path {
			t.Errorf("%s %s is routed to %q", rt.method, path, pattern)
		}
	}
	// ...and vice versa: every documented operation is a route.
	for p, item := range paths {
		for method := range item.(map[string]any) {
			if !want[method+" "+p] {
				t.Errorf("documented operation %s %s is not a route", method, p)
			}
		}
	}
	// The brief's routes are all there.
	for _, key := range []string{
		"get /healthz", "get /openapi.json", "get /v1/platform", "get /schemas/RRS-1/{version}/{file}", "get /log/{path}",
		"post /v1/submissions", "get /v1/submissions/{id}", "post /v1/submissions/{id}/complete", "get /v1/submissions/{id}/receipt", "get /v1/submissions/{id}/evidence",
		"options /v1/uploads/", "post /v1/uploads/", "head /v1/uploads/{id}", "patch /v1/uploads/{id}", "delete /v1/uploads/{id}",
		"get /v1/mailbox", "get /v1/mailbox/{id}", "post /v1/mailbox/{id}/ack",
	} {
		if !want[key] {
			t.Errorf("route %s missing", key)
		}
	}

	// Every $ref resolves.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if resolve(doc, ref) == nil {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)

	// mutualTLS is declared.
	sec := resolve(doc, "#/components/securitySchemes/mutualTLS").(map[string]any)
	if sec["type"] != "mutualTLS" {
		t.Errorf("security scheme %v", sec)
	}

	// The served document is the generated one.
	st, h, b := e.do("none", "GET", "/openapi.json", nil, nil)
	if st != 200 || h.Get("Content-Type") != "application/json" || string(b) != string(e.srv.OpenAPI()) {
		t.Errorf("served document differs: %d", st)
	}
}

func resolve(doc map[string]any, ref string) any {
	var cur any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func TestOpenAPISchemas(t *testing.T) {
	e := newEnv(t)
	doc := loadDoc(t, e.srv)
	sv := resolve(doc, "#/components/schemas/SubmissionView").(map[string]any)
	req := toStrings(sv["required"])
	for _, f := range []string{"message_id", "status", "files", "created_at", "accepted_at", "log_index", "upload_url"} {
		if !slices.Contains(req, f) {
			t.Errorf("SubmissionView: %s not required", f)
		}
	}
	if slices.Contains(req, "receipt") {
		t.Error("SubmissionView: receipt (omitempty) is required")
	}
	props := sv["properties"].(map[string]any)
	acc := props["accepted_at"].(map[string]any)
	if !reflect.DeepEqual(acc["type"], []any{"string", "null"}) || acc["format"] != "date-time" {
		t.Errorf("accepted_at: %v", acc)
	}
	rcpt := props["receipt"].(map[string]any)
	if !strings.Contains(mustJSON(rcpt), "#/components/schemas/Signed") {
		t.Errorf("receipt is not a Signed document: %v", rcpt)
	}
	payload := resolve(doc, "#/components/schemas/Signed/properties/payload").(map[string]any)
	if payload["contentEncoding"] != "base64" || !reflect.DeepEqual(payload["type"], []any{"string", "null"}) {
		t.Errorf("Signed.payload: %v", payload)
	}
	problem := resolve(doc, "#/components/schemas/Problem").(map[string]any)
	if !reflect.DeepEqual(toStrings(problem["required"]), []string{"type", "title", "status", "code"}) {
		t.Errorf("Problem.required: %v", problem["required"])
	}
	// The submit operation documents its request body and both success codes.
	post := doc["paths"].(map[string]any)["/v1/submissions"].(map[string]any)["post"].(map[string]any)
	body := mustJSON(post["requestBody"])
	if !strings.Contains(body, "#/components/schemas/SubmitRequest") {
		t.Errorf("submit request body: %s", body)
	}
	responses := post["responses"].(map[string]any)
	for _, code := range []string{"200", "201", "400", "401", "409", "413", "422"} {
		if responses[code] == nil {
			t.Errorf("submit: no %s response", code)
		}
	}
	// Problems are application/problem+json.
	p400 := mustJSON(resolve(doc, "#/components/responses/Problem400"))
	if !strings.Contains(p400, ProblemContentType) {
		t.Errorf("Problem400: %s", p400)
	}
	// tus creation documents its headers.
	create := mustJSON(doc["paths"].(map[string]any)["/v1/uploads/"].(map[string]any)["post"])
	for _, want := range []string{"Upload-Length", "Upload-Metadata", "Tus-Resumable", "Location", MetaMessageID} {
		if !strings.Contains(create, want) {
			t.Errorf("tus creation does not mention %s", want)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOpenAPIWithoutTermination(t *testing.T) {
	e := newEnv(t)
	srv, err := NewServer(Config{Exchange: e.ex, Institutions: e.insts, Uploads: plainStore{e.ex.store}, LogHandler: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	doc := loadDoc(t, srv)
	item := doc["paths"].(map[string]any)["/v1/uploads/{id}"].(map[string]any)
	if _, ok := item["delete"]; ok {
		t.Error("termination documented for a store that cannot terminate")
	}
	if _, pattern := srv.mux.Handler(httptest.NewRequest("DELETE", "/v1/uploads/x", nil)); pattern != "" {
		t.Errorf("DELETE routed to %q", pattern)
	}
}

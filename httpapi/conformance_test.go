package httpapi

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ronghe/ronghe"
)

// schemaValidator compiles the document's component schemas with a JSON
// Schema 2020-12 validator (formats and content encodings asserted), so that
// what the handlers send can be checked against what the document says.
func schemaValidator(t *testing.T, s *Server) func(t *testing.T, component string, body []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	const base = "https://ronghe.test/openapi.json"
	if err := c.AddResource(base, doc); err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T, component string, body []byte) {
		t.Helper()
		sch, err := c.Compile(base + "#/components/schemas/" + component)
		if err != nil {
			t.Fatalf("schema %s does not compile: %v", component, err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: body is not JSON: %v", component, err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s does not validate %s:\n%v", component, body, err)
		}
	}
}

// TestResponsesMatchDocument sends real requests and validates every JSON
// body against the schema the document gives for it.
func TestResponsesMatchDocument(t *testing.T) {
	e := newEnv(t)
	validate := schemaValidator(t, e.srv)
	files := map[string][]byte{"TXN.csv": []byte("0123456789")}
	const id = "B0001H24401010_20250301_1"

	_, _, b := e.do("A", "POST", "/v1/submissions", submitBody(manifest(instA, id, files), "good signature"), jsonHeader)
	validate(t, "SubmissionView", b)
	validate(t, "SubmitRequest", submitBody(manifest(instA, id, files), "good signature"))
	_, h, _ := e.tusCreate("A", 10, map[string]string{MetaMessageID: id, MetaFile: "TXN.csv"})
	e.tusPatch("A", h.Get("Location"), 0, files["TXN.csv"])
	_, _, b = e.do("A", "POST", "/v1/submissions/"+id+"/complete", nil, nil)
	validate(t, "SubmissionView", b)
	_, _, b = e.do("A", "GET", "/v1/submissions/"+id+"/receipt", nil, nil)
	validate(t, "Signed", b)
	_, _, b = e.do("A", "GET", "/v1/submissions/"+id+"/evidence", nil, nil)
	validate(t, "Bundle", b)

	idx := uint64(1)
	e.ex.mailbox["MB1"] = &ronghe.MailboxMessage{ID: "MB1", Tenant: instA, Kind: "quality.report", Subject: "s", ContentType: "text/plain",
		Body: []byte("hello"), Digest: []byte{1, 2}, Envelope: []byte(`{"payload":"e30=","signatures":[]}`), CreatedAt: time.Now(), LogIndex: &idx}
	_, _, b = e.do("A", "GET", "/v1/mailbox", nil, nil)
	validate(t, "MailboxList", b)
	_, _, b = e.do("A", "GET", "/v1/mailbox/MB1", nil, nil)
	validate(t, "MailboxMessageView", b)
	_, _, b = e.do("A", "POST", "/v1/mailbox/MB1/ack", signedAck(t), jsonHeader)
	validate(t, "MailboxMessageView", b)
	validate(t, "Signed", signedAck(t))

	_, _, b = e.do("none", "GET", "/v1/platform", nil, nil)
	validate(t, "Platform", b)
	_, _, b = e.do("none", "GET", "/healthz", nil, nil)
	validate(t, "Health", b)
	_, _, b = e.do("none", "GET", "/v1/submissions/x", nil, nil)
	validate(t, "Problem", b)
	_, _, b = e.tusCreate("A", 10, map[string]string{})
	validate(t, "Problem", b)
}

// TestDocumentStructure checks the rules of the OpenAPI 3.1 schema that a
// hand-built document most easily breaks.
func TestDocumentStructure(t *testing.T) {
	e := newEnv(t)
	doc := loadDoc(t, e.srv)
	componentName := regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	responseKey := regexp.MustCompile(`^(default|[1-5](?:[0-9][0-9]|XX))$`)
	for kind, group := range doc["components"].(map[string]any) {
		for name := range group.(map[string]any) {
			if !componentName.MatchString(name) {
				t.Errorf("components.%s.%s: invalid name", kind, name)
			}
		}
	}
	opKeys := map[string]bool{"tags": true, "summary": true, "description": true, "operationId": true, "parameters": true,
		"requestBody": true, "responses": true, "security": true}
	for path, item := range doc["paths"].(map[string]any) {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q does not start with /", path)
		}
		for method, o := range item.(map[string]any) {
			op := o.(map[string]any)
			for k := range op {
				if !opKeys[k] {
					t.Errorf("%s %s: unexpected operation member %q", method, path, k)
				}
			}
			for code, r := range op["responses"].(map[string]any) {
				if !responseKey.MatchString(code) {
					t.Errorf("%s %s: response key %q", method, path, code)
				}
				resp := r.(map[string]any)
				if _, ref := resp["$ref"]; !ref && resp["description"] == nil {
					t.Errorf("%s %s %s: response without description", method, path, code)
				}
			}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm := p.(map[string]any)
				if pm["in"] == nil || pm["schema"] == nil || pm["name"] == nil {
					t.Errorf("%s %s: incomplete parameter %v", method, path, pm)
				}
				if pm["in"] == "path" && pm["required"] != true {
					t.Errorf("%s %s: path parameter %v not required", method, path, pm["name"])
				}
			}
		}
	}
	b, _ := json.Marshal(doc)
	if bytes.Contains(b, []byte(`"nullable"`)) {
		t.Error("OpenAPI 3.0 nullable in a 3.1 document")
	}
}

package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type schemaInner struct {
	N int `json:"n"`
}

type schemaOuter struct {
	schemaEmbedded
	S        string            `json:"s" doc:"a string" enum:"a,b"`
	Opt      string            `json:"opt,omitempty"`
	T        time.Time         `json:"t"`
	PT       *time.Time        `json:"pt"`
	B        []byte            `json:"b"`
	U        uint64            `json:"u"`
	PU       *uint64           `json:"pu,omitempty"`
	F        float64           `json:"f"`
	L        []string          `json:"l"`
	NN       []string          `json:"nn" nonnil:"true"`
	M        map[string]int    `json:"m"`
	In       schemaInner       `json:"in"`
	PIn      *schemaInner      `json:"pin"`
	Raw      json.RawMessage   `json:"raw"`
	Skip     string            `json:"-"`
	NoTag    bool              // deliberately untagged: named by its Go name
	BB       [][]byte          `json:"bb"`
	Nested   []schemaInner     `json:"nested"`
	Anything any               `json:"anything"`
	unexp    int               //lint:ignore U1000 unexported: the generator must skip it
	_        struct{}          // blank: skipped
	Self     *schemaOuter      `json:"self,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
}

type schemaEmbedded struct {
	E string `json:"e"`
}

func TestSchemaGen(t *testing.T) {
	g := newSchemaGen()
	top := g.ref(reflect.TypeFor[schemaOuter]())
	if top["$ref"] != "#/components/schemas/schemaOuter" {
		t.Fatalf("top: %v", top)
	}
	obj := g.components["schemaOuter"]
	props := obj["properties"].(map[string]any)
	tests := []struct {
		field string
		want  string
	}{
		{"e", `{"type":"string"}`},
		{"s", `{"description":"a string","enum":["a","b"],"type":"string"}`},
		{"opt", `{"type":"string"}`},
		{"t", `{"format":"date-time","type":"string"}`},
		{"pt", `{"format":"date-time","type":["string","null"]}`},
		{"b", `{"contentEncoding":"base64","type":["string","null"]}`},
		{"nn", `{"items":{"type":"string"},"type":"array"}`},
		{"u", `{"minimum":0,"type":"integer"}`},
		{"pu", `{"minimum":0,"type":["integer","null"]}`},
		{"f", `{"format":"double","type":"number"}`},
		{"l", `{"items":{"type":"string"},"type":["array","null"]}`},
		{"m", `{"additionalProperties":{"format":"int64","type":"integer"},"type":["object","null"]}`},
		{"in", `{"$ref":"#/components/schemas/schemaInner"}`},
		{"pin", `{"anyOf":[{"$ref":"#/components/schemas/schemaInner"},{"type":"null"}]}`},
		{"raw", `{}`},
		{"NoTag", `{"type":"boolean"}`},
		{"bb", `{"items":{"contentEncoding":"base64","type":"string"},"type":["array","null"]}`},
		{"nested", `{"items":{"$ref":"#/components/schemas/schemaInner"},"type":["array","null"]}`},
		{"anything", `{}`},
		{"self", `{"anyOf":[{"$ref":"#/components/schemas/schemaOuter"},{"type":"null"}]}`},
		{"headers", `{"additionalProperties":{"type":"string"},"type":"object"}`},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			got, _ := json.Marshal(props[tc.field])
			if string(got) != tc.want {
				t.Errorf("%s: %s, want %s", tc.field, got, tc.want)
			}
		})
	}
	if len(props) != len(tests) {
		t.Errorf("%d properties, want %d: %v", len(props), len(tests), props)
	}
	required := map[string]bool{}
	for _, r := range obj["required"].([]string) {
		required[r] = true
	}
	for _, tc := range tests {
		optional := tc.field == "opt" || tc.field == "pu" || tc.field == "self" || tc.field == "headers"
		if required[tc.field] == optional {
			t.Errorf("%s: required = %v", tc.field, required[tc.field])
		}
	}
	if obj["additionalProperties"] != false {
		t.Error("objects must refuse unknown members")
	}
	if _, ok := g.components["schemaInner"]; !ok {
		t.Error("schemaInner not registered")
	}
}

func TestPathParams(t *testing.T) {
	tests := []struct {
		path string
		want []string
		api  string
	}{
		{"/v1/mailbox", nil, "/v1/mailbox"},
		{"/v1/submissions/{id}/complete", []string{"id"}, "/v1/submissions/{id}/complete"},
		{"/schemas/RRS-1/{version}/{file}", []string{"version", "file"}, "/schemas/RRS-1/{version}/{file}"},
		{"/log/{path...}", []string{"path"}, "/log/{path}"},
		{"/x/{$}", nil, "/x/{$}"},
	}
	for _, tc := range tests {
		if got := pathParams(tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("pathParams(%s) = %v, want %v", tc.path, got, tc.want)
		}
		if got := openAPIPath(tc.path); got != tc.api {
			t.Errorf("openAPIPath(%s) = %s", tc.path, got)
		}
	}
}

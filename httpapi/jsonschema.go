package httpapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// schemaGen turns Go types into JSON Schema (draft 2020-12, the dialect of
// OpenAPI 3.1) by reading their json tags. Named struct types become
// components referenced by $ref. The rules:
//
//   - string, bool, integers and floats map to their JSON types; unsigned
//     integers get minimum 0;
//   - time.Time is a string with format date-time;
//   - []byte is a string with contentEncoding base64;
//   - json.RawMessage is any JSON value;
//   - a pointer is nullable: its schema accepts null as well; so is a slice,
//     []byte or map field without omitempty (Go encodes a nil one as null)
//     unless the field is tagged nonnil:"true" because the code guarantees
//     a value;
//   - a field is required unless its tag says omitempty (or omitzero);
//   - embedded structs without a json name are flattened;
//   - a "doc" tag becomes the description, an "enum" tag (comma separated)
//     the allowed values.
//
// Types with a custom encoding are described by overrides.
type schemaGen struct {
	// components collects the named struct schemas, keyed by name.
	components map[string]map[string]any
	// names maps each generated type to its component name, so that two
	// types with the same name in different packages do not collide.
	names map[reflect.Type]string
	// overrides describe types whose JSON form is not their Go shape.
	overrides map[reflect.Type]func(g *schemaGen) map[string]any
}

func newSchemaGen() *schemaGen {
	return &schemaGen{
		components: map[string]map[string]any{},
		names:      map[reflect.Type]string{},
		overrides:  map[reflect.Type]func(g *schemaGen) map[string]any{},
	}
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

// ref returns a schema for t, registering components for named structs.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	if f, ok := g.overrides[t]; ok {
		return f(g)
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawJSONType:
		return map[string]any{}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.ref(t.Elem()))
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer", "format": "int32", "minimum": 0}
	case reflect.Float32:
		return map[string]any{"type": "number", "format": "float"}
	case reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + g.component(t)}
	}
	// Channels, functions and complex numbers have no JSON form.
	return map[string]any{}
}

// component registers the named struct t and returns its component name.
func (g *schemaGen) component(t reflect.Type) string {
	if name, ok := g.names[t]; ok {
		return name
	}
	name := t.Name()
	if _, taken := g.components[name]; taken {
		pkg := t.PkgPath()
		pkg = pkg[strings.LastIndex(pkg, "/")+1:]
		if pkg != "" {
			pkg = strings.ToUpper(pkg[:1]) + pkg[1:]
		}
		name = pkg + name
	}
	g.names[t] = name
	g.components[name] = nil // reserve: recursive types refer to it
	g.components[name] = g.object(t)
	return name
}

// object describes a struct type's fields.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.ref(f.Type)
		omit := hasOpt(opts, "omitempty") || hasOpt(opts, "omitzero")
		if k := f.Type.Kind(); (k == reflect.Slice || k == reflect.Map) && !omit && f.Tag.Get("nonnil") != "true" {
			s = nullable(s)
		}
		if doc := f.Tag.Get("doc"); doc != "" || f.Tag.Get("enum") != "" {
			s = annotate(s, doc, f.Tag.Get("enum"))
		}
		props[name] = s
		if !omit {
			*required = append(*required, name)
		}
	}
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// annotate adds a description and an enum to a schema. A $ref cannot carry
// siblings in older tools, so it is wrapped in allOf.
func annotate(s map[string]any, doc, enum string) map[string]any {
	var out map[string]any
	if _, isRef := s["$ref"]; isRef {
		out = map[string]any{"allOf": []any{s}}
	} else {
		out = make(map[string]any, len(s)+2)
		for k, v := range s {
			out[k] = v
		}
	}
	if doc != "" {
		out["description"] = doc
	}
	if enum != "" {
		vals := []any{}
		for _, v := range strings.Split(enum, ",") {
			vals = append(vals, v)
		}
		if _, nullOK := out["anyOf"]; nullOK || typeAllowsNull(out) {
			vals = append(vals, nil)
		}
		out["enum"] = vals
	}
	return out
}

func typeAllowsNull(s map[string]any) bool {
	if ts, ok := s["type"].([]any); ok {
		for _, t := range ts {
			if t == "null" {
				return true
			}
		}
	}
	return false
}

// nullable makes a schema accept null too.
func nullable(s map[string]any) map[string]any {
	if t, ok := s["type"].(string); ok {
		out := make(map[string]any, len(s))
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []any{t, "null"}
		return out
	}
	if len(s) == 0 {
		return s // any value already includes null
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

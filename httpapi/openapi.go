package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// OpenAPIVersion is the version of the OpenAPI specification the document
// follows.
const OpenAPIVersion = "3.1.0"

// APIVersion is the version of this API, info.version in the document.
const APIVersion = "1.0.0"

// openAPIPath converts a ServeMux pattern path to an OpenAPI path: a
// trailing wildcard {name...} becomes {name}.
func openAPIPath(p string) string { return strings.ReplaceAll(p, "...}", "}") }

// pathParams lists the wildcard names in a ServeMux pattern path.
func pathParams(p string) []string {
	var names []string
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(p[i+1:i+j], "...")
		if name != "$" {
			names = append(names, name)
		}
		p = p[i+j+1:]
	}
}

// renderOpenAPI generates the OpenAPI 3.1 document from the route table.
func (s *Server) renderOpenAPI() ([]byte, error) {
	g := newSchemaGen()
	g.overrides[reflect.TypeFor[SignedJSON]()] = func(g *schemaGen) map[string]any { return g.ref(signedType) }
	problemRef := g.ref(reflect.TypeFor[Problem]())
	problemResponses := map[string]any{}
	problemResponse := func(status int) map[string]any {
		name := "Problem" + strconv.Itoa(status)
		if _, ok := problemResponses[name]; !ok {
			problemResponses[name] = map[string]any{
				"description": http.StatusText(status) + " (RFC 9457 problem)",
				"headers":     map[string]any{RequestIDHeader: map[string]any{"$ref": "#/components/headers/RequestId"}},
				"content":     map[string]any{ProblemContentType: map[string]any{"schema": problemRef}},
			}
		}
		return map[string]any{"$ref": "#/components/responses/" + name}
	}

	paths := map[string]any{}
	tags := []string{}
	for i := range s.routes {
		rt := &s.routes[i]
		op := map[string]any{
			"operationId": rt.id,
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
		}
		if !slices.Contains(tags, rt.tag) {
			tags = append(tags, rt.tag)
		}
		if rt.description != "" {
			op["description"] = rt.description
		}
		if rt.staff {
			op["security"] = []any{map[string]any{"staffTLS": []any{}}}
		} else if rt.auth {
			op["security"] = []any{map[string]any{"mutualTLS": []any{}}}
		} else {
			op["security"] = []any{}
		}
		var params []any
		for _, name := range pathParams(rt.path) {
			params = append(params, map[string]any{
				"name": name, "in": "path", "required": true,
				"description": rt.pathDocs[name], "schema": stringSchema,
			})
		}
		for _, p := range rt.params {
			params = append(params, map[string]any{
				"name": p.name, "in": p.in, "required": p.required,
				"description": p.description, "schema": p.schema,
			})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if b := rt.request; b != nil {
			content := map[string]any{}
			for c := b; c != nil; c = c.alt {
				schema := c.schema
				switch {
				case c.typ != nil:
					schema = g.ref(c.typ)
				case schema == nil:
					schema = map[string]any{"type": "string", "contentMediaType": c.contentType}
				}
				content[c.contentType] = map[string]any{"schema": schema}
			}
			rb := map[string]any{
				"required": b.typ != nil,
				"content":  content,
			}
			if b.description != "" {
				rb["description"] = b.description
			}
			op["requestBody"] = rb
		}
		responses := map[string]any{}
		for _, r := range rt.responses {
			resp := map[string]any{"description": r.description}
			headers := map[string]any{RequestIDHeader: map[string]any{"$ref": "#/components/headers/RequestId"}}
			for name, doc := range r.headers {
				headers[name] = map[string]any{"description": doc, "schema": stringSchema}
			}
			resp["headers"] = headers
			if r.contentType != "" {
				schema := r.schema
				if r.typ != nil {
					schema = g.ref(r.typ)
				}
				resp["content"] = map[string]any{r.contentType: map[string]any{"schema": schema}}
			}
			responses[strconv.Itoa(r.status)] = resp
		}
		problems := slices.Clone(rt.problems)
		if rt.auth || rt.staff {
			problems = append(problems, http.StatusUnauthorized)
		}
		for _, st := range problems {
			responses[strconv.Itoa(st)] = problemResponse(st)
		}
		responses["default"] = problemResponse(http.StatusInternalServerError)
		op["responses"] = responses

		p := openAPIPath(rt.path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(rt.method)] = op
	}

	tagDocs := map[string]string{
		"platform": "The platform's public information; no client certificate needed.",
		"standard": "Machine-readable RRS-1 definitions.",
		"log":      "The transparency log, read by anyone to check receipts and the log's consistency.",
		"exchange": "Submitting signed batches and obtaining receipts.",
		"uploads":  "The tus 1.0 resumable-upload protocol (https://tus.io/protocols/resumable-upload) carrying a submission's files.",
		"mailbox":  "Messages from the platform to the institution, acknowledged with signatures.",
		"lake":     "The lakehouse for the operator's staff: data catalog, governed SQL, query log. Staff certificates only; institutions and enterprises are refused (403).",
	}
	var tagList []any
	for _, t := range tags {
		tagList = append(tagList, map[string]any{"name": t, "description": tagDocs[t]})
	}
	schemas := map[string]any{}
	for name, sc := range g.components {
		schemas[name] = sc
	}
	doc := map[string]any{
		"openapi":           OpenAPIVersion,
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": map[string]any{
			"title":   "Ronghe API",
			"version": APIVersion,
			"description": "The HTTP API of Ronghe, the trusted platform through which institutions exchange signed RRS-1 data batches. " +
				"Institution endpoints need mutual TLS with a client certificate issued by the platform CA (see /v1/platform). " +
				"A submission is: POST /v1/submissions with the signed manifest; one tus upload per file to " + UploadsPath +
				" with Upload-Metadata " + MetaMessageID + " and " + MetaFile + "; POST /v1/submissions/{id}/complete for the signed receipt. " +
				"Every error is an RFC 9457 problem (application/problem+json).",
		},
		"tags":  tagList,
		"paths": paths,
		"components": map[string]any{
			"schemas":   schemas,
			"responses": problemResponses,
			"headers": map[string]any{
				"RequestId": map[string]any{"description": "the request's ID, echoed from the request or assigned", "schema": stringSchema},
			},
			"securitySchemes": map[string]any{
				"mutualTLS": map[string]any{
					"type":        "mutualTLS",
					"description": "A client certificate issued by the platform CA to the institution (URI SAN urn:ronghe:institution:<code>). Unknown or revoked certificates are refused with 401.",
				},
			},
		},
	}
	if s.cfg.Lake != nil {
		schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
		schemes["staffTLS"] = map[string]any{
			"type": "mutualTLS",
			"description": "A client certificate issued by the platform CA to a member of the operator's staff (URI SAN urn:ronghe:staff:<name>, " +
				"subject OU=staff and OU=<role>: analyst, supervisor or admin). The role is the certificate's, never the request's. " +
				"Unknown or revoked certificates are refused with 401; an institution's, enterprise's or node's certificate with 403.",
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

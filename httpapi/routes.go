package httpapi

import (
	"net/http"
	"reflect"

	"github.com/ronghe/ronghe/evidence"
)

// route is one operation of the API. The table of routes is the single source
// of both the mux registrations and the OpenAPI document.
type route struct {
	method string // HTTP method
	path   string // ServeMux path pattern, e.g. /v1/submissions/{id}
	// id, summary, description and tag document the operation.
	id, summary, description, tag string
	// auth says the operation needs a client certificate: an institution's,
	// or with enterprise an enterprise's.
	auth       bool
	enterprise bool
	// anyParty, with auth, admits an enterprise's certificate as well as an
	// institution's (authenticateParty).
	anyParty bool
	// staff says the operation needs a staff certificate
	// (authenticateStaff); institutions and enterprises get 403.
	staff bool
	// params are the query and header parameters; path parameters are taken
	// from path and described in pathDocs.
	params   []param
	pathDocs map[string]string
	// request describes the body, if any.
	request *body
	// responses are the success responses; problems the error statuses the
	// operation documents besides the generic ones.
	responses []response
	problems  []int
	// handle serves a JSON operation; raw serves anything else (tus, tiles).
	handle func(http.ResponseWriter, *http.Request) error
	raw    http.Handler
}

// param is a query or header parameter.
type param struct {
	name, in, description string
	required              bool
	schema                map[string]any
}

// body is a request body.
type body struct {
	contentType string
	typ         reflect.Type   // nil for a binary body
	schema      map[string]any // instead of typ, for bodies that are not Go types
	description string
	// alt is another content type the operation takes.
	alt *body
}

// response is one documented response.
type response struct {
	status      int
	description string
	contentType string         // "" when the response has no body
	typ         reflect.Type   // the JSON body's Go type
	schema      map[string]any // instead of typ, for bodies that are not Go types
	headers     map[string]string
}

func (rt *route) serve(s *Server) http.Handler {
	if rt.raw != nil {
		return rt.raw
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := rt.handle(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

func jsonResponse[T any](status int, description string) response {
	return response{status: status, description: description, contentType: "application/json", typ: typeOf[T]()}
}

var (
	stringSchema  = map[string]any{"type": "string"}
	integerSchema = map[string]any{"type": "integer", "format": "int64", "minimum": 0}
)

// buildRoutes declares every route of the API.
func (s *Server) buildRoutes() []route {
	rs := []route{
		{
			method: "GET", path: "/healthz", id: "health", tag: "platform",
			summary: "Liveness check", description: "Answers 200 while the process serves requests.",
			responses: []response{jsonResponse[Health](200, "the server is up")},
			handle:    s.health,
		},
		{
			method: "GET", path: "/openapi.json", id: "openapi", tag: "platform",
			summary: "This OpenAPI 3.1 document",
			responses: []response{{status: 200, description: "the document", contentType: "application/json",
				schema: map[string]any{"type": "object", "description": "an OpenAPI 3.1 document"}}},
			handle: s.openAPIDoc,
		},
		{
			method: "GET", path: "/v1/platform", id: "platform", tag: "platform",
			summary:     "Public keys and parameters of the platform",
			description: "The keys receipts, mailbox envelopes and log checkpoints are signed with, the log's origin and verifier keys, and the CA certificate. Pin them out of band before trusting them.",
			responses:   []response{jsonResponse[Platform](200, "the platform's public information")},
			handle:      s.platform,
		},
		{
			method: "GET", path: "/schemas/RRS-1/{version}/{file}", id: "rrsSchema", tag: "standard",
			summary:     "JSON Schema of one RRS-1 record type",
			description: "The JSON Schema (draft 2020-12) of one record of the given type, derived from the RRS-1 definition table. version is \"1.0\" or a bare major version \"1\" (the newest minor).",
			pathDocs:    map[string]string{"version": "RRS-1 version, e.g. 1.0", "file": "record type followed by .json, e.g. TXN.json"},
			responses: []response{{status: 200, description: "the schema", contentType: "application/schema+json",
				schema: map[string]any{"type": "object", "description": "a JSON Schema (draft 2020-12)"}}},
			problems: []int{404, 415},
			handle:   s.rrsSchema,
		},
		{
			method: "GET", path: "/log/{path...}", id: "logTiles", tag: "log",
			summary:     "Transparency log (C2SP tlog-tiles)",
			description: "Read-only tlog-tiles resources of the transparency log: checkpoint, tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>]. Tiles are immutable and cacheable; the checkpoint is a signed note.",
			pathDocs:    map[string]string{"path": "checkpoint, tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]"},
			responses: []response{
				{status: 200, description: "the checkpoint (text/plain signed note) or a tile", contentType: "application/octet-stream",
					schema: map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}},
			},
			problems: []int{404},
			raw:      http.StripPrefix("/log", foreignProblems(s.log, s.cfg.LogHandler)),
		},
		{
			method: "POST", path: "/v1/submissions", id: "submit", tag: "exchange", auth: true,
			summary: "Submit a signed manifest",
			description: "Registers a message: the exact manifest bytes and the signature over them. Nothing is accepted unless the signature verifies under a key the institution registered. Then upload every file the manifest lists to upload_url with tus, and call complete. Submitting the same manifest again is idempotent (200); another manifest under the same message ID is 409. " +
				"A small batch (files together at most the platform's inline limit, 4 MiB by default) may instead be sent whole as multipart/form-data: the parts " + PartManifest + " (the exact manifest bytes), " + PartSignature + " (the raw signature bytes) and one " + PartFile + " part per file, its filename the file's name in the manifest. " +
				"The files are checked against the signed manifest in memory before anything is stored (a missing, extra or different file refuses the whole request: 400 or 422), then stored encrypted, the acceptance logged and the receipt returned in the same response (201, or 200 for a replay with the receipt already issued); a 503 is finished by POST complete or by sending the request again.",
			request: &body{contentType: "application/json", typ: typeOf[SubmitRequest](), alt: &body{
				contentType: "multipart/form-data",
				schema: map[string]any{
					"type":     "object",
					"required": []any{PartManifest, PartSignature, PartFile},
					"properties": map[string]any{
						PartManifest:  map[string]any{"type": "string", "contentMediaType": "application/json", "description": "the exact signed manifest bytes"},
						PartSignature: map[string]any{"type": "string", "contentMediaType": "application/octet-stream", "description": "the raw signature over the manifest bytes"},
						PartFile: map[string]any{"type": "array", "description": "one part per file of the manifest, its filename the file's name in the manifest",
							"items": map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}},
					},
				},
			}},
			responses: []response{
				jsonResponse[SubmissionView](201, "the new submission (with its receipt when sent as multipart/form-data)"),
				jsonResponse[SubmissionView](200, "the stored submission (replay of the same manifest)"),
			},
			problems: []int{400, 403, 409, 413, 415, 422, 503},
			handle:   s.submit,
		},
		{
			method: "GET", path: "/v1/submissions/{id}", id: "getSubmission", tag: "exchange", auth: true,
			summary:   "A submission's state",
			pathDocs:  map[string]string{"id": "the message ID"},
			responses: []response{jsonResponse[SubmissionView](200, "the submission")},
			problems:  []int{404},
			handle:    s.getSubmission,
		},
		{
			method: "POST", path: "/v1/submissions/{id}/complete", id: "completeSubmission", tag: "exchange", auth: true,
			summary:     "Finish a submission and obtain its receipt",
			description: "Idempotent: when every file has arrived the acceptance is logged and the signed receipt returned (200); while files are missing the submission is returned unchanged (202). Safe to call again after a crash.",
			pathDocs:    map[string]string{"id": "the message ID"},
			responses: []response{
				jsonResponse[SubmissionView](200, "accepted, with the receipt"),
				jsonResponse[SubmissionView](202, "files are still missing"),
			},
			problems: []int{404, 503},
			handle:   s.complete,
		},
		{
			method: "GET", path: "/v1/submissions/{id}/receipt", id: "getReceipt", tag: "exchange", auth: true,
			summary:     "The signed receipt of an accepted submission",
			description: "The platform-signed receipt (evidence document of type ronghe.receipt/v1) exactly as issued; 404 until the submission is accepted.",
			pathDocs:    map[string]string{"id": "the message ID"},
			responses:   []response{{status: 200, description: "the signed receipt", contentType: "application/json", typ: signedType}},
			problems:    []int{404},
			handle:      s.receipt,
		},
		{
			method: "GET", path: "/v1/submissions/{id}/evidence", id: "getEvidence", tag: "exchange", auth: true,
			summary:     "The evidence bundle of an accepted submission",
			description: "Everything needed to prove offline, for the retention period, that the institution sent the message and the platform received it: the exact signed manifest and its signature, the sender's key as registered, the signed receipt and the platform's public keys. `ronghe verify` checks it. 404 until the submission is accepted.",
			pathDocs:    map[string]string{"id": "the message ID"},
			responses:   []response{jsonResponse[evidence.Bundle](200, "the evidence bundle")},
			problems:    []int{404},
			handle:      s.evidenceBundle,
		},
		{
			method: "GET", path: "/v1/mailbox", id: "listMailbox", tag: "mailbox", auth: true,
			summary: "List mailbox messages (without bodies)",
			params: []param{
				{name: "unacked", in: "query", description: "only messages not yet acknowledged", schema: map[string]any{"type": "boolean"}},
				{name: "after", in: "query", description: "cursor: return messages after this message ID", schema: stringSchema},
				{name: "limit", in: "query", description: "page size, 1..1000 (default 100)", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxMailboxLimit}},
			},
			responses: []response{jsonResponse[MailboxList](200, "one page of messages")},
			problems:  []int{400},
			handle:    s.listMailbox,
		},
		{
			method: "GET", path: "/v1/mailbox/{id}", id: "getMailboxMessage", tag: "mailbox", auth: true,
			summary:   "One mailbox message with its body and signed envelope",
			pathDocs:  map[string]string{"id": "the mailbox message ID"},
			responses: []response{jsonResponse[MailboxMessageView](200, "the message")},
			problems:  []int{404},
			handle:    s.getMailboxMessage,
		},
		{
			method: "POST", path: "/v1/mailbox/{id}/ack", id: "ackMailboxMessage", tag: "mailbox", auth: true,
			summary:     "Acknowledge a mailbox message",
			description: "The body is a signed evidence document whose payload is a ronghe.ack/v1 naming the message and the digest of its envelope, signed by one of the institution's registered keys. The acknowledgment is logged; acknowledging again returns the message unchanged.",
			pathDocs:    map[string]string{"id": "the mailbox message ID"},
			request:     &body{contentType: "application/json", typ: signedType},
			responses:   []response{jsonResponse[MailboxMessageView](200, "the acknowledged message")},
			problems:    []int{400, 404, 413, 415, 422},
			handle:      s.ackMailboxMessage,
		},
	}
	rs = append(rs, s.tusRoutes()...)
	rs = append(rs, s.disputeRoutes()...)
	rs = append(rs, s.governanceRoutes()...)
	rs = append(rs, s.lakeRoutes()...)
	return append(rs, s.reportRoutes()...)
}

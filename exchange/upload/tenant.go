package upload

import (
	"context"
	"regexp"
)

// Keys the platform's pre-create hook sets on a new upload.
//
// MetaTenant and MetaSuite say whom the upload belongs to and how it is
// encrypted. The store reads them from FileInfo.Storage first — only the
// hook can set Storage (tusd's FileInfoChanges.Storage), a client cannot —
// and then from FileInfo.MetaData, which the hook controls too when it
// returns FileInfoChanges.MetaData (that replaces the client's metadata
// entirely). A tenant found in either must equal the tenant of the request
// context (WithTenant); the suite is required.
//
// MetaMessage and MetaFile are client metadata the exchange uses to match an
// upload with its manifest: the message ID and the file's name in it. The
// store keeps them in MetaData and returns them in Result.
const (
	MetaTenant  = "tenant"  // code of the owning institution
	MetaSuite   = "suite"   // "GM" or "INTL": the owner's suite
	MetaMessage = "message" // message ID of the submission's manifest
	MetaFile    = "file"    // the file's name in that manifest
)

// tenantKey is the context key of the tenant code.
type tenantKey struct{}

// WithTenant returns a context carrying the code of the tenant (institution)
// on whose behalf a request runs, as established by the platform's
// authentication (mutual TLS). Every operation of the store checks it: an
// upload of another tenant is reported exactly like one that does not exist.
// The platform's HTTP middleware sets it on the request context before tusd
// sees the request; tusd passes the request's values on to the store.
func WithTenant(ctx context.Context, code string) context.Context {
	return context.WithValue(ctx, tenantKey{}, code)
}

// TenantFrom returns the tenant code set by WithTenant, and whether there is
// one.
func TenantFrom(ctx context.Context) (string, bool) {
	code, ok := ctx.Value(tenantKey{}).(string)
	return code, ok && code != ""
}

// tenantPattern bounds tenant codes: institution codes such as unified social
// credit codes or bank codes, and test names.
var tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

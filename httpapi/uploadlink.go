package httpapi

import (
	"context"

	"github.com/tus/tusd/v2/pkg/handler"
)

// TEMPORARY until exchange/upload is committed: these mirror the upload
// package's documented API (upload.WithTenant and its metadata keys) and are
// replaced by direct references to it.

type uploadTenantKey struct{}

func uploadTenantHook(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, uploadTenantKey{}, tenant)
}

func uploadMetadata(tenant, suite, messageID, file string) handler.FileInfoChanges {
	return handler.FileInfoChanges{
		MetaData: handler.MetaData{"tenant": tenant, "suite": suite, "message": messageID, "file": file},
		Storage:  map[string]string{"tenant": tenant, "suite": suite},
	}
}

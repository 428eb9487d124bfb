package upload

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/blobstore"
	"github.com/ronghe/ronghe/envelope"
)

// fileInfo is what tusd passes to NewUpload after the pre-create hook.
func fileInfo(size int64, st ronghe.Suite) handler.FileInfo {
	return handler.FileInfo{Size: size, Storage: map[string]string{MetaSuite: string(st)}, MetaData: handler.MetaData{}}
}

// writeUpload creates an upload directly on the store and writes plain in
// one go, returning its ID.
func writeUpload(t testing.TB, s *Store, ctx context.Context, st ronghe.Suite, plain []byte) string {
	t.Helper()
	u, err := s.NewUpload(ctx, fileInfo(int64(len(plain)), st))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	if len(plain) > 0 {
		n, err := u.WriteChunk(ctx, 0, bytes.NewReader(plain))
		if err != nil || n != int64(len(plain)) {
			t.Fatalf("WriteChunk = %d, %v", n, err)
		}
	}
	return info.ID
}

// openS3 opens a blob store on an in-process S3 server.
func openS3(t testing.TB, kek envelope.KEK) *blobstore.Store {
	t.Helper()
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	if err := mem.CreateBucket("ronghe"); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("s3://ronghe?endpoint=%s&region=us-east-1&use_path_style=true&anonymous=true&response_checksum_validation=when_required", srv.URL)
	bs, err := blobstore.Open(context.Background(), url, blobstore.WithKEK(kek))
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

package envelope_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/envelope"
	"github.com/ronghe/ronghe/suite"
)

// The upload path: hash the plaintext with the owner's suite while the
// envelope encrypts it, then read it back.
func Example() {
	ctx := context.Background()
	// A real deployment uses LoadOrCreateLocalKEK on a file kept apart from
	// the blobs, or a KMS; a fixed key keeps the example reproducible.
	kek, err := envelope.NewLocalKEK("example", bytes.Repeat([]byte{1}, envelope.LocalKEKSize))
	if err != nil {
		log.Fatal(err)
	}

	var stored bytes.Buffer
	w, err := envelope.NewWriter(ctx, &stored, kek, ronghe.SuiteGM)
	if err != nil {
		log.Fatal(err)
	}
	h := suite.NewHash(ronghe.SuiteGM)
	if _, err := io.Copy(io.MultiWriter(h, w), bytes.NewReader([]byte("abc"))); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("SM3 %x\n", h.Sum(nil))

	r, err := envelope.NewReader(ctx, &stored, kek)
	if err != nil {
		log.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", plain)
	// Output:
	// SM3 66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0
	// abc
}

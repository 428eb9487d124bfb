package suite_test

import (
	"fmt"
	"log"

	"github.com/ronghe/ronghe"
	"github.com/ronghe/ronghe/suite"
)

// An institution registers a public key; the platform later checks what it
// signed.
func Example() {
	signer, err := suite.GenerateKey(ronghe.SuiteGM)
	if err != nil {
		log.Fatal(err)
	}
	registered, err := signer.PublicKey().MarshalPEM() // what the institution uploads
	if err != nil {
		log.Fatal(err)
	}

	manifest := []byte("batch 2026-01-31 rows=1024")
	sig, err := signer.Sign(manifest)
	if err != nil {
		log.Fatal(err)
	}

	pub, err := suite.ParsePublicKeyPEM(registered)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pub.Suite(), pub.Verify(manifest, sig) == nil)
	err = pub.Verify([]byte("batch 2026-01-31 rows=1025"), sig)
	fmt.Println(ronghe.ErrorCode(err))
	// Output:
	// GM true
	// integrity
}

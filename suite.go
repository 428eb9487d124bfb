package ronghe

// Suite names a set of cryptographic algorithms used together. An institution
// chooses one when it registers a key; every signature, digest and encrypted
// blob records the suite it was made with, so both can be verified for ever.
type Suite string

const (
	// SuiteGM is China's commercial cryptography: SM2 signatures over SM3 digests
	// (distinguishing ID "1234567812345678"), SM3 hashes and SM4-GCM encryption.
	SuiteGM Suite = "GM"
	// SuiteINTL is the international suite: Ed25519 signatures, SHA-256 hashes
	// and AES-256-GCM encryption.
	SuiteINTL Suite = "INTL"
)

// Valid reports whether s is a suite the platform implements.
func (s Suite) Valid() bool { return s == SuiteGM || s == SuiteINTL }

// HashName returns the digest algorithm of the suite as written in manifests
// ("SM3" or "SHA-256").
func (s Suite) HashName() string {
	if s == SuiteGM {
		return "SM3"
	}
	return "SHA-256"
}

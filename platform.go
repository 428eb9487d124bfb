package ronghe

// PlatformInfo is the platform's public identity: what a party pins at
// onboarding and what an auditor needs to check receipts, mailbox envelopes,
// evidence bundles and log checkpoints without an account.
type PlatformInfo struct {
	// LogOrigin is the transparency log's origin line in its checkpoints.
	LogOrigin string `json:"log_origin"`
	// SigningKeys are the platform's public keys (PKIX PEM), one Ed25519 and
	// one SM2; receipts and mailbox envelopes carry a signature by each.
	SigningKeys []string `json:"signing_keys"`
	// LogVerifiers are the signed-note verifier keys of the log's checkpoints
	// (the Ed25519 signer and the SM2 co-signer).
	LogVerifiers []string `json:"log_verifiers"`
	// CAPEM is the certificate of the CA that issues the server's and the
	// institutions' TLS certificates.
	CAPEM string `json:"ca_pem"`
}

// Package envelope encrypts stored blobs (uploaded files, evidence) so that
// the blob store alone never reveals them.
//
// Each blob gets its own random data key (DEK) and is encrypted under its
// owner's suite: SM4-GCM for GM, AES-256-GCM for INTL (package suite). The
// DEK is wrapped by a key-encryption key (KEK) that lives apart from the data:
// a KMS or HSM in production, or the embedded LocalKEK whose master key sits
// in a 0600 file. Only the wrapped DEK is stored, in the blob's header.
//
// The body is a STREAM-style chunked AEAD (Hoang, Reyhanitabar, Rogaway and
// Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
// Misuse-Resistance", CRYPTO 2015): 64 KiB plaintext chunks, each sealed with
// the nonce prefix || chunk counter || last-chunk flag and the whole header as
// associated data. Truncation, extension, reordering, chunk swapping between
// blobs and any change to the header are all detected. Memory stays flat at a
// few chunks whatever the blob's size; the Writer seals chunks on several
// cores while writing them out in order, and the Reader decrypts the next
// chunks in the background while the caller consumes the current ones.
// FORMAT.md specifies the bytes.
package envelope

// Package attachment encrypts and decrypts the blobs that carry
// attachments (photos, videos, files, voice notes): the device encrypts a
// file before it leaves, the relay stores the blob without being able to
// read it, and the recipient decrypts it as it streams in.
//
// # Format
//
// A blob is the payload of the age v1 format (C2SP age.md, "Payload"): the
// STREAM construction with ChaCha20-Poly1305.
//
//   - Each attachment has a random 32-byte key K (NewKey) and each blob a
//     random 16-byte nonce (NewNonce).
//   - payload key = HKDF-SHA-256(ikm = K, salt = nonce, info = "payload"),
//     32 bytes.
//   - The padded plaintext is split into chunks of ChunkSize (64 KiB); the
//     last may be shorter but is never empty. Chunk i is sealed with
//     ChaCha20-Poly1305 under the payload key with the 12-byte nonce
//     uint88_be(i) || last (last = 0x01 on the final chunk, else 0x00) and
//     no additional data: the chunk, then its 16-byte tag.
//   - blob = nonce || sealed chunk 0 || sealed chunk 1 || ...
//
// Before encryption the plaintext is padded with zero bytes to a bucket,
// so that a blob's size says little about its file's (PaddedSize):
// max(541, floor(1.05^ceil(log_1.05(size)))), the buckets of Signal's
// attachments, computed exactly in integers so that every platform agrees
// on them. The message that points at a blob carries the plaintext's true
// size; Decrypt drops the padding and requires it to be zero bytes.
//
// The pointer also carries the blob's digest, SHA-256 of the whole blob
// (Digest). Every chunk is authenticated on its own, so a stream never
// shows a tampered byte; the digest ties the blob to the message.
//
// # Invariants
//
//   - Encrypt and Decrypt stream: each holds one sealed chunk (ChunkSize +
//     TagSize bytes) whatever the file's size.
//   - Encrypt can start anywhere in the blob (an upload resumed at the
//     relay's offset) and gives exactly the bytes of the whole blob from
//     there: it re-encrypts from the start of the chunk that holds the
//     offset (PlainOffset).
//   - Decrypt returns no byte of a chunk that does not authenticate, and
//     returns the final chunk's bytes only once the blob's length and
//     digest have been checked: a reader that reaches io.EOF has read the
//     whole, authentic file. A damaged, truncated, extended, reordered or
//     swapped blob fails with ErrTampered; an error of the blob's reader
//     (a cut download) is returned as it is, wrapped.
package attachment

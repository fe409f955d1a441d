// Package senderkey is the group cipher of Mutual's end-to-end encryption:
// Signal's Sender Keys, built exactly as libsignal builds them, with the
// wire layout of go.mau.fi/libsignal and libsignal-protocol-java.
//
// Every sender (device) in a group has a sender key: a chain ID, a chain
// key with its iteration, and a Curve25519 signing key pair. The sender
// sends the chain key and the public signing key to every other member in
// a DistributionMessage, over the pairwise sessions (crypto/session); then
// each group message is encrypted once, with the chain's next message key,
// signed, and sent to everyone.
//
// Key derivation:
//
//   - Chain step: message seed = HMAC-SHA256(chain key, 0x01); next chain
//     key = HMAC-SHA256(chain key, 0x02), iteration + 1.
//   - Message keys: HKDF-SHA256(ikm = message seed, no salt, info =
//     "WhisperGroup") → 48 bytes: CBC IV (16), AES-256 key (32).
//   - Cipher: AES-256-CBC with PKCS#7 padding; the message (version byte
//     and protobuf) is signed with XEdDSA under the signing key, and the
//     signature is checked before anything is decrypted.
//
// Wire format (the version byte 0x33, then libsignal's
// WhisperTextProtocol.proto field numbers, every field written, encoded by
// hand with internal/pb): a SenderKeyMessage is 0x33, the protobuf
// {1 id (chain ID), 2 iteration, 3 ciphertext} and the 64-byte signature; a
// DistributionMessage is 0x33 and the protobuf {1 id, 2 iteration,
// 3 chainKey (32), 4 signingKey (33: 0x05 || u)}. Rust libsignal adds a
// distribution UUID to both; Mutual does not: a Record belongs to one
// sender in one conversation, which names the group, as go.mau.fi's and
// libsignal-protocol-java's SenderKeyName does.
//
// A Record holds what one device keeps for one sender in one group: its
// own sender key (made by Generate, with the private signing key), or up
// to MaxStates (5) states received from that sender, newest first. Limits,
// as libsignal's: a message may skip at most MaxForwardJumps (25,000)
// iterations; a state keeps at most MaxSkippedKeys (2,000) message keys of
// skipped iterations, dropping the oldest; a message whose key was used or
// dropped is refused with ErrDuplicate.
//
// A Record changes only when a message decrypts: Decrypt computes what it
// would change aside and commits it once the signature and the padding
// have been checked, so a forged, replayed or corrupted message leaves the
// Record exactly as it was. Encrypt advances the chain before it returns;
// the caller must store the Record before sending the message, so that no
// message key is used twice. A Record is not safe for concurrent use.
package senderkey

// Package ratchet is the Double Ratchet of Mutual's end-to-end encryption,
// built exactly as libsignal builds it, and the two wire messages that carry
// it (SignalMessage and PreKeySignalMessage).
//
// Key derivation:
//
//   - Root step: HKDF-SHA256(ikm = X25519(our ratchet key, their ratchet
//     key), salt = root key, info = "WhisperRatchet") → 64 bytes: the new
//     root key (32) and a new chain key (32).
//   - Chain step: message seed = HMAC-SHA256(chain key, 0x01); next chain
//     key = HMAC-SHA256(chain key, 0x02).
//   - Message keys: HKDF-SHA256(ikm = message seed, no salt, info =
//     "WhisperMessageKeys") → 80 bytes: AES-256 key (32), HMAC-SHA256 key
//     (32), CBC IV (16).
//   - Message cipher: AES-256-CBC with PKCS#7 padding; the MAC is
//     HMAC-SHA256(MAC key, sender identity || receiver identity || version
//     byte || SignalMessage protobuf) truncated to 8 bytes, identities in
//     their 33-byte serialization.
//
// Wire format (libsignal's WhisperTextProtocol.proto field numbers, encoded
// by hand with protowire): a SignalMessage is the version byte
// ((version<<4)|3), the protobuf {1 ratchetKey, 2 counter, 3 previousCounter,
// 4 ciphertext} and the 8-byte MAC; a PreKeySignalMessage is the version byte
// and the protobuf {1 preKeyId, 2 baseKey, 3 identityKey, 4 message,
// 5 registrationId, 6 signedPreKeyId, 7 kemPreKeyId, 8 kemCiphertext}.
//
// Limits, as libsignal's: a message may skip at most MaxForwardJumps
// (25,000) messages of one chain; a receiver chain keeps at most
// MaxMessageKeys (2,000) skipped message keys, evicting the oldest; a state
// keeps at most MaxReceiverChains (5) receiver chains, evicting the oldest.
//
// A State changes only when a message authenticates: Decrypt computes
// everything it would change aside and commits it after the MAC and the
// padding check have passed, so a forged, replayed or truncated message
// leaves the State exactly as it was. Encrypt advances the sending chain
// before it returns; the caller must persist the State before sending the
// ciphertext so that no message key is ever used twice. Message keys,
// used or evicted skipped keys and evicted chain keys are cleared from
// memory, as far as Go allows (docs/crypto.md, "Keys in memory").
//
// Session setup (X3DH and PQXDH) lives in package pqxdh, which creates
// States with NewInitiatorState and NewResponderState; per-device session
// records and storage live in package session.
package ratchet

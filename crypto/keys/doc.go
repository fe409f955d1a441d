// Package keys holds the key types of Mutual's end-to-end encryption.
//
// Keys are types, not byte slices. Every key is an incomparable struct
// (comparing two keys with == does not compile; use Equal, which runs in
// constant time), and nothing in this package formats private key material:
// private keys print as a redacted placeholder under every fmt verb.
//
// PrivateKey and PublicKey are Curve25519 keys as libsignal uses them for
// identity keys, signed prekeys, one-time prekeys and ratchet keys: X25519
// for Diffie-Hellman and XEdDSA (libsignal's variant, see package xeddsa)
// for signatures. Public keys serialize as libsignal does, a type byte 0x05
// ("DJB") followed by the 32-byte Montgomery u coordinate.
//
// KEMPrivateKey and KEMPublicKey are ML-KEM-1024 (FIPS 203, crypto/mlkem)
// keys for PQXDH's post-quantum prekeys. A KEM public key serializes as the
// type byte 0x0A (libsignal's code for ML-KEM-1024) followed by the
// 1568-byte encapsulation key; a KEM private key is kept as its 64-byte
// seed (d || z).
package keys

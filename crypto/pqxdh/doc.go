// Package pqxdh sets up sessions: Signal's PQXDH key agreement (protocol
// version 4, X25519 and ML-KEM-1024) for every new Mutual session, and
// X3DH (version 3, libsignal's pre-quantum protocol) to prove the ratchet
// against libsignal. Both follow Signal's specifications
// (signal.org/docs/specifications/x3dh and /pqxdh) the way libsignal
// implements them.
//
// A device publishes a Bundle made from its records (Identity,
// SignedPreKey, PreKey, KEMPreKey). To start a session, the initiator calls
// ProcessBundle, which verifies the XEdDSA signatures on the signed prekey
// and the KEM prekey before using them; the responder calls
// ProcessPreKeyMessage with the private prekeys the first message names.
// Both return a ratchet.State.
//
// Signal deploys round-3 Kyber1024 (libsignal key type 0x08), which does not
// interoperate with ML-KEM-1024 (FIPS 203, key type 0x0A): version 4
// sessions talk only to Mutual, and use their own HKDF info string,
// InfoPQXDH. Clients refuse version 3 (Options.AllowX3DH = false), so a
// peer that can do version 4 is never downgraded.
//
// Records serialize with protowire; each carries a format version (field
// 15, now 1) and parsers refuse versions they do not know.
package pqxdh

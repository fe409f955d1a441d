package pqxdh

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// This file is a reference for the known-answer vectors: a session setup
// and its first three messages computed straight from the published
// specifications (Signal's X3DH and PQXDH, the Double Ratchet) and from
// the wire format of docs/protocol.md, with the standard library's
// primitives alone. It uses nothing of package pqxdh or of Mutual's other
// packages, so that a mistake there (a secret in the wrong place, a wrong
// info string) cannot be repeated here.

// The HKDF info strings, written out here on purpose.
const (
	refInfoPQXDH   = "Mutual_PQXDH_CURVE25519_SHA-256_ML-KEM-1024"
	refInfoX3DH    = "WhisperText"
	refInfoRatchet = "WhisperRatchet"
	refInfoMessage = "WhisperMessageKeys"
)

// The prekey IDs and device ID the vectors use.
const (
	refSignedPreKeyID  = 3
	refOneTimePreKeyID = 17
	refKEMPreKeyID     = 23
	refDeviceID        = 2
)

// reference fills in v's bundle and messages from its inputs.
func (v *vector) reference(t testing.TB) {
	t.Helper()
	x := func(s string) *ecdh.PrivateKey {
		t.Helper()
		k, err := ecdh.X25519().NewPrivateKey(unhex(t, s))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ika, ikb, spkb := x(v.AliceIdentity), x(v.BobIdentity), x(v.BobSigned)
	eka, a1, b1, a2 := x(v.AliceBase), x(v.AliceRatchet1), x(v.BobRatchet), x(v.AliceRatchet2)
	var opkb *ecdh.PrivateKey
	if v.BobOneTime != "" {
		opkb = x(v.BobOneTime)
	}
	pqxdh := v.BobKEMSeed != ""

	// The bundle: {15 format version 1, 1 registration ID, 2 device ID,
	// 3 identity key, 4 signed prekey ID, 5 signed prekey, 6 its
	// signature, [7 one-time prekey ID, 8 one-time prekey], [9 KEM prekey
	// ID, 10 KEM prekey (0x0A || encapsulation key), 11 its signature]}.
	var ek *mlkem.EncapsulationKey1024
	bundle := refVarint(nil, 15, 1)
	bundle = refVarint(bundle, 1, uint64(v.BobRegID))
	bundle = refVarint(bundle, 2, refDeviceID)
	bundle = refBytes(bundle, 3, refPub(ikb))
	bundle = refVarint(bundle, 4, refSignedPreKeyID)
	bundle = refBytes(bundle, 5, refPub(spkb))
	bundle = refBytes(bundle, 6, unhex(t, v.BobSignedSig))
	if opkb != nil {
		bundle = refVarint(bundle, 7, refOneTimePreKeyID)
		bundle = refBytes(bundle, 8, refPub(opkb))
	}
	if pqxdh {
		dk, err := mlkem.NewDecapsulationKey1024(unhex(t, v.BobKEMSeed))
		if err != nil {
			t.Fatal(err)
		}
		ek = dk.EncapsulationKey()
		bundle = refVarint(bundle, 9, refKEMPreKeyID)
		bundle = refBytes(bundle, 10, append([]byte{0x0A}, ek.Bytes()...))
		bundle = refBytes(bundle, 11, unhex(t, v.BobKEMSig))
	}
	v.Bundle = hex.EncodeToString(bundle)

	// The key agreement (X3DH section 3.3, PQXDH section 3.3):
	// SK = KDF(DH1 || DH2 || DH3 [|| DH4] [|| SS]), where KDF is HKDF-SHA256
	// with F = 32 0xFF bytes before the key material, a salt of 32 zero
	// bytes and the protocol's info string. As libsignal, 64 bytes: the
	// root key and the first chain key.
	km := bytes.Repeat([]byte{0xFF}, 32)
	km = append(km, refDH(t, ika, spkb)...) // DH1 = DH(IKA, SPKB)
	km = append(km, refDH(t, eka, ikb)...)  // DH2 = DH(EKA, IKB)
	km = append(km, refDH(t, eka, spkb)...) // DH3 = DH(EKA, SPKB)
	if opkb != nil {
		km = append(km, refDH(t, eka, opkb)...) // DH4 = DH(EKA, OPKB)
	}
	info := refInfoX3DH
	var kemCiphertext []byte
	if pqxdh {
		ss, ct, err := mlkemtest.Encapsulate1024(ek, unhex(t, v.KEMRandom))
		if err != nil {
			t.Fatal(err)
		}
		km = append(km, ss...) // SS, last
		info, kemCiphertext = refInfoPQXDH, ct
	}
	sk := refHKDF(t, km, make([]byte, sha256.Size), info, 64)
	rk := sk[:32] // the first chain key, sk[32:], is the one Bob never sends on here

	version := 3
	if pqxdh {
		version = 4
	}
	ida, idb := refPub(ika), refPub(ikb)

	// Alice's first sending chain: one root step with her first ratchet
	// key and Bob's signed prekey; her first message, wrapped in a
	// PreKeySignalMessage {1 one-time prekey ID, 2 base key, 3 identity
	// key, 4 message, 5 registration ID, 6 signed prekey ID, [7 KEM prekey
	// ID, 8 KEM ciphertext (0x0A || ciphertext)]}.
	rkA1, ckA1 := refKDFRK(t, rk, refDH(t, a1, spkb))
	inner := refMessage(t, version, ckA1, refPub(a1), 0, 0, v.FirstPlaintext, ida, idb)
	first := []byte{byte(version<<4 | 3)}
	if opkb != nil {
		first = refVarint(first, 1, refOneTimePreKeyID)
	}
	first = refBytes(first, 2, refPub(eka))
	first = refBytes(first, 3, ida)
	first = refBytes(first, 4, inner)
	first = refVarint(first, 5, uint64(v.AliceRegID))
	first = refVarint(first, 6, refSignedPreKeyID)
	if pqxdh {
		first = refVarint(first, 7, refKEMPreKeyID)
		first = refBytes(first, 8, append([]byte{0x0A}, kemCiphertext...))
	}
	v.FirstMessage = hex.EncodeToString(first)

	// Bob's reply: his DH ratchet step on Alice's ratchet key (receiving
	// chain from his signed prekey, sending chain from his new ratchet
	// key). He never sent before, so the previous counter is 0.
	rkB1, ckRecv := refKDFRK(t, rk, refDH(t, spkb, a1))
	if !bytes.Equal(rkB1, rkA1) || !bytes.Equal(ckRecv, ckA1) {
		t.Fatal("reference: the two sides' first root steps differ")
	}
	rkB2, ckB1 := refKDFRK(t, rkB1, refDH(t, b1, a1))
	v.Reply = hex.EncodeToString(refMessage(t, version, ckB1, refPub(b1), 0, 0, v.ReplyPlaintext, idb, ida))

	// Alice's second message: her DH ratchet step on Bob's ratchet key.
	// Her previous chain sent one message: previous counter 0.
	rkA2, _ := refKDFRK(t, rkA1, refDH(t, a1, b1))
	if !bytes.Equal(rkA2, rkB2) {
		t.Fatal("reference: the two sides' second root steps differ")
	}
	_, ckA2 := refKDFRK(t, rkA2, refDH(t, a2, b1))
	v.Second = hex.EncodeToString(refMessage(t, version, ckA2, refPub(a2), 0, 0, v.SecondPlain, ida, idb))
}

// refPub is a public key's serialization: 0x05 || u.
func refPub(k *ecdh.PrivateKey) []byte {
	return append([]byte{0x05}, k.PublicKey().Bytes()...)
}

func refDH(t testing.TB, k, other *ecdh.PrivateKey) []byte {
	t.Helper()
	s, err := k.ECDH(other.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func refHKDF(t testing.TB, ikm, salt []byte, info string, n int) []byte {
	t.Helper()
	out, err := hkdf.Key(sha256.New, ikm, salt, info, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func refHMAC(key []byte, data ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// refKDFRK is the Double Ratchet's root KDF as Signal instantiates it:
// HKDF-SHA256 with the root key as salt, the DH output as key material
// and info "WhisperRatchet", 64 bytes: the new root key and a chain key.
func refKDFRK(t testing.TB, rk, dh []byte) (root, chain []byte) {
	t.Helper()
	out := refHKDF(t, dh, rk, refInfoRatchet, 64)
	return out[:32], out[32:]
}

// refMessage is a SignalMessage on the chain whose key is ck, at index 0
// of it: message key = HMAC-SHA256(ck, 0x01) (the Double Ratchet's KDF_CK),
// expanded by HKDF-SHA256 (no salt, info "WhisperMessageKeys") into an
// AES-256 key, an HMAC key and a CBC IV; the body AES-256-CBC with PKCS#7
// padding; the message the version byte, {1 ratchet key, 2 counter,
// 3 previous counter, 4 ciphertext} and the first 8 bytes of
// HMAC-SHA256(HMAC key, sender identity || receiver identity || both).
func refMessage(t testing.TB, version int, ck, ratchetKey []byte, counter, prev uint64, plaintext string, sender, receiver []byte) []byte {
	t.Helper()
	keys := refHKDF(t, refHMAC(ck, []byte{0x01}), nil, refInfoMessage, 80)
	cipherKey, macKey, iv := keys[:32], keys[32:64], keys[64:]
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	body := append([]byte(plaintext), bytes.Repeat([]byte{byte(n)}, n)...)
	block, err := aes.NewCipher(cipherKey)
	if err != nil {
		t.Fatal(err)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(body, body)
	m := []byte{byte(version<<4 | 3)}
	m = refBytes(m, 1, ratchetKey)
	m = refVarint(m, 2, counter)
	m = refVarint(m, 3, prev)
	m = refBytes(m, 4, body)
	return append(m, refHMAC(macKey, sender, receiver, m)[:8]...)
}

// refVarint and refBytes append a protobuf field: the tag (field number
// and wire type 0 or 2) as a varint, then the value or the length and
// the bytes.
func refVarint(b []byte, field int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3)
	return binary.AppendUvarint(b, v)
}

func refBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

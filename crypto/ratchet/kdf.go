package ratchet

import (
	"fmt"

	"github.com/mutualcoop/mutual/crypto/internal/kdf"
	"github.com/mutualcoop/mutual/crypto/keys"
)

const (
	// KeySize is the size of root keys, chain keys and message seeds.
	KeySize = 32

	rootInfo        = "WhisperRatchet"
	messageKeysInfo = "WhisperMessageKeys"

	messageSeedByte = 0x01
	chainKeyByte    = 0x02

	cipherKeySize = 32
	macKeySize    = 32
	ivSize        = 16
)

// chainKey is a sending or receiving chain key and the index of the next
// message key it gives.
type chainKey struct {
	key   [KeySize]byte
	index uint32
}

// messageSeed is HMAC-SHA256(chain key, 0x01): the input of the message
// key derivation for message number index.
func (c *chainKey) messageSeed() [KeySize]byte {
	return hmacByte(&c.key, messageSeedByte)
}

// next returns the chain key that follows c: HMAC-SHA256(chain key, 0x02).
func (c *chainKey) next() chainKey {
	return chainKey{key: hmacByte(&c.key, chainKeyByte), index: c.index + 1}
}

func hmacByte(key *[KeySize]byte, b byte) [KeySize]byte {
	return kdf.MACByte(key, b)
}

// messageKeys are the keys of one message.
type messageKeys struct {
	cipherKey [cipherKeySize]byte
	macKey    [macKeySize]byte
	iv        [ivSize]byte
}

// deriveMessageKeys expands a message seed with HKDF-SHA256 (no salt, info
// "WhisperMessageKeys") into the cipher key, MAC key and IV.
func deriveMessageKeys(seed *[KeySize]byte) messageKeys {
	out, err := kdf.HKDF(seed[:], nil, []byte(messageKeysInfo), cipherKeySize+macKeySize+ivSize)
	if err != nil {
		panic("ratchet: hkdf with a fixed length failed: " + err.Error())
	}
	var mk messageKeys
	copy(mk.cipherKey[:], out[:cipherKeySize])
	copy(mk.macKey[:], out[cipherKeySize:cipherKeySize+macKeySize])
	copy(mk.iv[:], out[cipherKeySize+macKeySize:])
	clear(out)
	return mk
}

// rootStep is the root KDF: HKDF-SHA256(ikm = DH(our, their), salt = root
// key, info = "WhisperRatchet") split into a new root key and a new chain
// key (index 0).
func rootStep(root *[KeySize]byte, our keys.PrivateKey, their keys.PublicKey) ([KeySize]byte, chainKey, error) {
	var newRoot [KeySize]byte
	shared, err := our.DH(their)
	if err != nil {
		return newRoot, chainKey{}, fmt.Errorf("ratchet step: %w", err)
	}
	out, err := kdf.HKDF(shared, root[:], []byte(rootInfo), 2*KeySize)
	clear(shared)
	if err != nil {
		return newRoot, chainKey{}, fmt.Errorf("ratchet step: %w", err)
	}
	var ck chainKey
	copy(newRoot[:], out[:KeySize])
	copy(ck.key[:], out[KeySize:])
	clear(out)
	return newRoot, ck, nil
}

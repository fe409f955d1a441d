package senderkey

import (
	"github.com/mutualcoop/mutual/crypto/internal/kdf"
)

const (
	// KeySize is the size of chain keys and message seeds.
	KeySize = 32

	messageKeysInfo = "WhisperGroup"
	messageSeedByte = 0x01
	chainKeyByte    = 0x02

	ivSize        = 16
	cipherKeySize = 32
)

// chainKey is a sender chain key and the iteration of the message key it
// gives next.
type chainKey struct {
	key       [KeySize]byte
	iteration uint32
}

// messageSeed is HMAC-SHA256(chain key, 0x01): the input of the message
// key derivation for this iteration.
func (c *chainKey) messageSeed() [KeySize]byte {
	return kdf.MACByte(&c.key, messageSeedByte)
}

// next returns the chain key that follows c: HMAC-SHA256(chain key, 0x02).
// The caller checks that c's iteration is not the last (math.MaxUint32).
func (c *chainKey) next() chainKey {
	return chainKey{key: kdf.MACByte(&c.key, chainKeyByte), iteration: c.iteration + 1}
}

// messageKeys are the keys of one message.
type messageKeys struct {
	iv        [ivSize]byte
	cipherKey [cipherKeySize]byte
}

// deriveMessageKeys expands a message seed with HKDF-SHA256 (no salt, info
// "WhisperGroup") into the IV and the AES-256 key, in that order.
func deriveMessageKeys(seed *[KeySize]byte) messageKeys {
	out, err := kdf.HKDF(seed[:], nil, []byte(messageKeysInfo), ivSize+cipherKeySize)
	if err != nil {
		panic("senderkey: hkdf with a fixed length failed: " + err.Error())
	}
	var mk messageKeys
	copy(mk.iv[:], out[:ivSize])
	copy(mk.cipherKey[:], out[ivSize:])
	clear(out)
	return mk
}

func (mk *messageKeys) clear() {
	clear(mk.iv[:])
	clear(mk.cipherKey[:])
}

// skippedKey is the message seed of an iteration that was skipped over:
// kept so that the message can still be decrypted when it arrives.
type skippedKey struct {
	iteration uint32
	seed      [KeySize]byte
}

// sealedKey holds a key one pointer further away from the struct that
// points to it, so that fmt's reflection never prints the key, whatever
// the verb: fmt follows at most one pointer of a value it cannot format.
type sealedKey struct {
	key *[KeySize]byte
}

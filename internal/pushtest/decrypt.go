package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Decrypt opens a Web Push body as the receiving browser does (RFC 8291
// section 3.4, RFC 8188 section 2): it reads the header, agrees a secret
// with the sender's key in it, derives the content key and nonce with
// HMAC-SHA-256 written out step by step (not the sender's HKDF), opens
// each record and strips the padding. priv and auth are the
// subscriber's.
func Decrypt(body []byte, priv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("decrypt: no header")
	}
	salt := body[:16]
	rs := int(binary.BigEndian.Uint32(body[16:20]))
	idlen := int(body[20])
	if len(body) < 21+idlen || idlen != 65 {
		return nil, fmt.Errorf("decrypt: key ID of %d bytes, want 65", idlen)
	}
	if rs < 18 {
		return nil, fmt.Errorf("decrypt: record size %d", rs)
	}
	asPublic := body[21 : 21+idlen]
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("decrypt: sender key: %w", err)
	}
	secret, err := priv.ECDH(as)
	if err != nil {
		return nil, fmt.Errorf("decrypt: key agreement: %w", err)
	}
	uaPublic := priv.PublicKey().Bytes()

	// PRK_key = HMAC(auth, ecdh_secret); IKM = HMAC(PRK_key, key_info || 1)
	prkKey := mac(auth, secret)
	keyInfo := append(append([]byte("WebPush: info\x00"), uaPublic...), asPublic...)
	ikm := mac(prkKey, append(keyInfo, 1))
	// PRK = HMAC(salt, IKM); CEK and NONCE are the first block of HKDF-Expand.
	prk := mac(salt, ikm)
	cek := mac(prk, []byte("Content-Encoding: aes128gcm\x00\x01"))[:16]
	nonce := mac(prk, []byte("Content-Encoding: nonce\x00\x01"))[:12]

	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	var out []byte
	records := body[21+idlen:]
	for seq := uint64(0); len(records) > 0; seq++ {
		n := min(rs, len(records))
		rec := records[:n]
		records = records[n:]
		iv := make([]byte, 12)
		copy(iv, nonce)
		for i := range 8 {
			iv[11-i] ^= byte(seq >> (8 * i))
		}
		plain, err := gcm.Open(nil, iv, rec, nil)
		if err != nil {
			return nil, fmt.Errorf("decrypt: record %d: %w", seq, err)
		}
		// Strip the padding: zeros, then the delimiter, 2 in the last
		// record and 1 in the others.
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		last := len(records) == 0
		switch {
		case i < 0:
			return nil, fmt.Errorf("decrypt: record %d has no delimiter", seq)
		case last && plain[i] != 2, !last && plain[i] != 1:
			return nil, fmt.Errorf("decrypt: record %d has delimiter %d", seq, plain[i])
		}
		out = append(out, plain[:i]...)
	}
	return out, nil
}

func mac(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

package attachment

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// Decrypt returns a reader of the plaintext (padding dropped) of a blob
// for a plaintext of size bytes under key, whose SHA-256 is digest. blob
// reads the whole blob from its start. The reader fails with ErrTampered
// when a chunk does not authenticate, the blob is too short or too long,
// or its digest is wrong; it never returns a byte that has not been
// authenticated, and the last bytes only once the whole blob has been
// checked. Errors of blob itself are returned wrapped.
func Decrypt(key []byte, size int64, digest []byte, blob io.Reader) (io.Reader, error) {
	if err := checkArgs(key, size); err != nil {
		return nil, err
	}
	if len(digest) != DigestSize {
		return nil, fmt.Errorf("attachment: digest is %d bytes, want %d", len(digest), DigestSize)
	}
	return newDecrypter(key, digest, newGeometry(size), blob), nil
}

func newDecrypter(key, digest []byte, g geometry, blob io.Reader) *decrypter {
	d := &decrypter{
		g:      g,
		key:    append([]byte(nil), key...),
		digest: append([]byte(nil), digest...),
		h:      Digest(),
	}
	d.blob = hashReader{r: blob, h: d.h}
	return d
}

// decrypter is the reader Decrypt returns.
type decrypter struct {
	g      geometry
	key    []byte
	digest []byte
	h      hash.Hash
	blob   hashReader
	aead   cipher.AEAD // nil until the nonce is read
	next   int64       // the next chunk to open
	buf    []byte      // one sealed chunk
	out    []byte      // what is left to read of the opened chunk
	nonce  [chacha20poly1305.NonceSize]byte
	sum    [DigestSize]byte
	err    error
}

func (d *decrypter) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.next == d.g.n {
			d.err = io.EOF
			continue
		}
		d.err = d.open()
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// open reads and opens the next chunk into out; on the final chunk it
// also checks that the blob ends there and has the right digest.
func (d *decrypter) open() error {
	if d.aead == nil {
		var nonce [NonceSize]byte
		if err := d.readFull(nonce[:]); err != nil {
			return err
		}
		d.aead = payloadAEAD(d.key, nonce[:])
		d.buf = make([]byte, sealedChunkSize)
	}
	i := d.next
	sealed := d.buf[:d.g.chunkLen(i)+TagSize]
	if err := d.readFull(sealed); err != nil {
		return err
	}
	d.g.chunkNonce(&d.nonce, i)
	chunk, err := d.aead.Open(sealed[:0], d.nonce[:], sealed, nil)
	if err != nil {
		return ErrTampered
	}
	data := d.g.dataLen(i)
	for _, b := range chunk[data:] {
		if b != 0 {
			return ErrTampered // padding is zero bytes
		}
	}
	d.next++
	if d.next == d.g.n {
		if err := d.checkEnd(); err != nil {
			return err
		}
	}
	d.out = chunk[:data]
	return nil
}

// checkEnd checks that the blob has no byte after its last chunk and that
// its digest is the expected one.
func (d *decrypter) checkEnd() error {
	var extra [1]byte
	switch _, err := io.ReadFull(&d.blob, extra[:]); {
	case err == nil:
		return ErrTampered
	case !errors.Is(err, io.EOF):
		return fmt.Errorf("attachment: read blob: %w", err)
	}
	if subtle.ConstantTimeCompare(d.h.Sum(d.sum[:0]), d.digest) != 1 {
		return ErrTampered
	}
	return nil
}

// readFull fills b from the blob: a blob that ends early is tampered with.
func (d *decrypter) readFull(b []byte) error {
	if _, err := io.ReadFull(&d.blob, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrTampered
		}
		return fmt.Errorf("attachment: read blob: %w", err)
	}
	return nil
}

// hashReader feeds what it reads to a hash.
type hashReader struct {
	r io.Reader
	h hash.Hash
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	return n, err
}

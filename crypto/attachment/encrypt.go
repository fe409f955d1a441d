package attachment

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// Encrypt returns a reader of the blob's bytes from blobOffset on, for a
// plaintext of size bytes under key and nonce. plain gives the plaintext
// from PlainOffset(blobOffset) on (the start of the chunk that holds
// blobOffset): Encrypt reads from it exactly the plaintext bytes it needs,
// up to size, and pads with zero bytes. Resuming an upload re-encrypts
// from the chunk that holds the relay's offset. A plain that ends early
// makes the reader fail.
func Encrypt(key, nonce []byte, size int64, plain io.Reader, blobOffset int64) (io.Reader, error) {
	if err := checkArgs(key, size); err != nil {
		return nil, err
	}
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("attachment: nonce is %d bytes, want %d", len(nonce), NonceSize)
	}
	g := newGeometry(size)
	if blobOffset < 0 || blobOffset > g.blobSize() {
		return nil, fmt.Errorf("attachment: offset %d outside a blob of %d bytes", blobOffset, g.blobSize())
	}
	e := &encrypter{g: g, aead: payloadAEAD(key, nonce), plain: plain}
	switch {
	case blobOffset == g.blobSize():
		e.next = g.n
	case blobOffset < NonceSize:
		e.out = append([]byte(nil), nonce[blobOffset:]...)
	default:
		e.next = PlainOffset(blobOffset) / ChunkSize
		e.skip = int((blobOffset - NonceSize) % sealedChunkSize)
	}
	return e, nil
}

// encrypter is the reader Encrypt returns.
type encrypter struct {
	g     geometry
	aead  cipher.AEAD
	plain io.Reader
	next  int64  // the next chunk to seal
	skip  int    // bytes to drop from the next sealed chunk
	buf   []byte // one sealed chunk
	out   []byte // what is left to read of buf (or of the nonce)
	nonce [chacha20poly1305.NonceSize]byte
	err   error
}

func (e *encrypter) Read(p []byte) (int, error) {
	for len(e.out) == 0 {
		if e.err != nil {
			return 0, e.err
		}
		if e.next == e.g.n {
			e.err = io.EOF
			continue
		}
		e.err = e.seal()
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// seal reads, pads and seals the next chunk into out.
func (e *encrypter) seal() error {
	i := e.next
	if e.buf == nil {
		e.buf = make([]byte, sealedChunkSize)
	}
	chunk := e.buf[:e.g.chunkLen(i)]
	data := e.g.dataLen(i)
	if _, err := io.ReadFull(e.plain, chunk[:data]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("attachment: plaintext is shorter than its size %d", e.g.size)
		}
		return fmt.Errorf("attachment: read plaintext: %w", err)
	}
	clear(chunk[data:])
	e.g.chunkNonce(&e.nonce, i)
	sealed := e.aead.Seal(chunk[:0], e.nonce[:], chunk, nil)
	e.out = sealed[e.skip:]
	e.skip = 0
	e.next++
	return nil
}

package attachment_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"

	"github.com/mutualcoop/mutual/crypto/attachment"
)

const sealedChunk = attachment.ChunkSize + attachment.TagSize

// plaintext returns size deterministic bytes: byte i is i mod 251.
func plaintext(size int64) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// sample is a blob of a plaintext, with what its pointer carries.
type sample struct {
	key, nonce []byte
	plain      []byte
	blob       []byte
	digest     []byte
}

func newSample(tb testing.TB, size int64) *sample {
	tb.Helper()
	s := &sample{key: attachment.NewKey(), nonce: attachment.NewNonce(), plain: plaintext(size)}
	s.blob = encryptAt(tb, s, 0)
	sum := sha256.Sum256(s.blob)
	s.digest = sum[:]
	return s
}

// encryptAt returns the blob of s from blobOffset on, made from the
// plaintext from PlainOffset(blobOffset) on.
func encryptAt(tb testing.TB, s *sample, blobOffset int64) []byte {
	tb.Helper()
	start := min(attachment.PlainOffset(blobOffset), int64(len(s.plain)))
	r, err := attachment.Encrypt(s.key, s.nonce, int64(len(s.plain)), bytes.NewReader(s.plain[start:]), blobOffset)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// decrypt decrypts blob as s's pointer describes it.
func (s *sample) decrypt(blob []byte) ([]byte, error) {
	r, err := attachment.Decrypt(s.key, int64(len(s.plain)), s.digest, bytes.NewReader(blob))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// sizes are plaintext sizes around every boundary that matters: empty,
// the smallest bucket, chunk boundaries, and bucket boundaries.
func sizes() []int64 {
	var out []int64
	for _, n := range []int64{0, 1, 2, 540, 541, 542, 1000, attachment.ChunkSize, 2 * attachment.ChunkSize, 3 * attachment.ChunkSize, 200_000} {
		out = append(out, n)
		if n > 0 {
			out = append(out, n-1, n+1)
		}
	}
	// Sizes whose padded size is a whole number of chunks, and around them.
	for n := int64(1); n < 4*attachment.ChunkSize; n = attachment.PaddedSize(n) + 1 {
		if p := attachment.PaddedSize(n); p%attachment.ChunkSize == 0 || p%attachment.ChunkSize > attachment.ChunkSize-200 || p%attachment.ChunkSize < 200 {
			out = append(out, p-1, p, p+1)
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, size := range sizes() {
		s := newSample(t, size)
		if got, want := int64(len(s.blob)), attachment.BlobSize(size); got != want {
			t.Fatalf("size %d: blob of %d bytes, BlobSize says %d", size, got, want)
		}
		if !bytes.Equal(s.blob[:attachment.NonceSize], s.nonce) {
			t.Fatalf("size %d: the blob does not start with its nonce", size)
		}
		got, err := s.decrypt(s.blob)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, s.plain) {
			t.Fatalf("size %d: decrypted %d bytes, not the plaintext", size, len(got))
		}
	}
}

// TestRoundTripSmallReads: readers that read a byte at a time give the
// same bytes.
func TestRoundTripSmallReads(t *testing.T) {
	s := newSample(t, attachment.ChunkSize+10)
	r, err := attachment.Encrypt(s.key, s.nonce, int64(len(s.plain)), bytes.NewReader(s.plain), 0)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(oneByte{r})
	if err != nil || !bytes.Equal(blob, s.blob) {
		t.Fatalf("encrypting a byte at a time: %v", err)
	}
	d, err := attachment.Decrypt(s.key, int64(len(s.plain)), s.digest, oneByte{bytes.NewReader(blob)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(oneByte{d})
	if err != nil || !bytes.Equal(got, s.plain) {
		t.Fatalf("decrypting a byte at a time: %v", err)
	}
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestPaddedSize(t *testing.T) {
	for _, tc := range []struct{ size, want int64 }{
		{0, 541}, {1, 541}, {541, 541}, {542, 568}, {568, 568}, {569, 596},
	} {
		if got := attachment.PaddedSize(tc.size); got != tc.want {
			t.Errorf("PaddedSize(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
	// Never smaller than the plaintext, at most 5% (and a byte) larger
	// above the smallest bucket, and monotonic.
	for _, size := range append(sizes(), 100<<20, attachment.MaxSize) {
		p := attachment.PaddedSize(size)
		if p < size || p < 541 || (size > 541 && float64(p) > 1.05*float64(size)+1) {
			t.Errorf("PaddedSize(%d) = %d", size, p)
		}
	}
	prev := int64(0)
	for size := int64(0); size < 5000; size++ {
		p := attachment.PaddedSize(size)
		if p < prev {
			t.Fatalf("PaddedSize(%d) = %d, below PaddedSize(%d) = %d", size, p, size-1, prev)
		}
		prev = p
	}
}

func TestPaddedSizePanics(t *testing.T) {
	for _, size := range []int64{-1, attachment.MaxSize + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("PaddedSize(%d) did not panic", size)
				}
			}()
			attachment.PaddedSize(size)
		}()
	}
}

func TestPlainOffset(t *testing.T) {
	for _, tc := range []struct{ offset, want int64 }{
		{0, 0}, {1, 0}, {attachment.NonceSize, 0}, {attachment.NonceSize + sealedChunk - 1, 0},
		{attachment.NonceSize + sealedChunk, attachment.ChunkSize},
		{attachment.NonceSize + 2*sealedChunk + 5, 2 * attachment.ChunkSize},
	} {
		if got := attachment.PlainOffset(tc.offset); got != tc.want {
			t.Errorf("PlainOffset(%d) = %d, want %d", tc.offset, got, tc.want)
		}
	}
}

// TestEncryptFromOffset: Encrypt from any offset, aligned on a chunk or
// not, gives the whole blob's suffix from there.
func TestEncryptFromOffset(t *testing.T) {
	for _, size := range []int64{0, 1000, attachment.ChunkSize, 3*attachment.ChunkSize + 7} {
		s := newSample(t, size)
		end := int64(len(s.blob))
		offsets := []int64{0, 1, attachment.NonceSize - 1, attachment.NonceSize, attachment.NonceSize + 1, end - 1, end}
		for c := int64(0); attachment.NonceSize+c*sealedChunk < end; c++ {
			at := attachment.NonceSize + c*sealedChunk
			for _, o := range []int64{at - 1, at, at + 1, at + attachment.ChunkSize, at + sealedChunk - 1} {
				if o >= 0 && o <= end {
					offsets = append(offsets, o)
				}
			}
		}
		for _, o := range offsets {
			if got := encryptAt(t, s, o); !bytes.Equal(got, s.blob[o:]) {
				t.Fatalf("size %d: from offset %d: %d bytes, not the blob's last %d", size, o, len(got), end-o)
			}
		}
	}
}

func TestEncryptArguments(t *testing.T) {
	key, nonce := attachment.NewKey(), attachment.NewNonce()
	end := attachment.BlobSize(10)
	for name, f := range map[string]func() error{
		"short key":       func() error { return encryptErr(key[:31], nonce, 10, 0) },
		"short nonce":     func() error { return encryptErr(key, nonce[:15], 10, 0) },
		"negative size":   func() error { return encryptErr(key, nonce, -1, 0) },
		"huge size":       func() error { return encryptErr(key, nonce, attachment.MaxSize+1, 0) },
		"negative offset": func() error { return encryptErr(key, nonce, 10, -1) },
		"offset past end": func() error { return encryptErr(key, nonce, 10, end+1) },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := attachment.Decrypt(key, 10, make([]byte, 31), bytes.NewReader(nil)); err == nil {
		t.Error("short digest: no error")
	}
}

func encryptErr(key, nonce []byte, size, offset int64) error {
	_, err := attachment.Encrypt(key, nonce, size, bytes.NewReader(nil), offset)
	return err
}

// TestEncryptShortPlaintext: a plaintext that ends before its size fails
// the reader; it does not pad the missing bytes with zeros.
func TestEncryptShortPlaintext(t *testing.T) {
	r, err := attachment.Encrypt(attachment.NewKey(), attachment.NewNonce(), 100_000, bytes.NewReader(plaintext(99_999)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("a short plaintext encrypted without an error")
	}
}

// TestDecryptReadError: an error of the blob's reader (a cut download) is
// returned, not taken for tampering.
func TestDecryptReadError(t *testing.T) {
	s := newSample(t, 3*attachment.ChunkSize)
	cut := errors.New("connection reset")
	r, err := attachment.Decrypt(s.key, int64(len(s.plain)), s.digest,
		io.MultiReader(bytes.NewReader(s.blob[:sealedChunk+100]), errReader{cut}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, cut) || errors.Is(err, attachment.ErrTampered) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	if !bytes.Equal(got, s.plain[:attachment.ChunkSize]) {
		t.Fatalf("got %d bytes before the cut, want the first chunk", len(got))
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestNewKeyNonce(t *testing.T) {
	if k := attachment.NewKey(); len(k) != attachment.KeySize || bytes.Equal(k, attachment.NewKey()) {
		t.Fatal("NewKey")
	}
	if n := attachment.NewNonce(); len(n) != attachment.NonceSize || bytes.Equal(n, attachment.NewNonce()) {
		t.Fatal("NewNonce")
	}
}

// TestDigest: Digest fed the blob gives the blob's SHA-256.
func TestDigest(t *testing.T) {
	s := newSample(t, 5000)
	h := attachment.Digest()
	h.Write(s.blob)
	if !bytes.Equal(h.Sum(nil), s.digest) {
		t.Fatal("Digest is not the blob's SHA-256")
	}
}

// random returns a generator with a fixed seed: the same draws on every run.
func random() *mrand.Rand {
	return mrand.New(mrand.NewPCG(1, 2))
}

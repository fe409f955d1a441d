package attachment_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/mutualcoop/mutual/crypto/attachment"
)

// vectors is testdata/vectors.json, written by testdata/gen_vectors.py
// from the format alone (Python's cryptography, hashlib and fractions).
type vectors struct {
	Key        string
	Nonce      string
	PayloadKey string `json:"payload_key"`
	Blobs      []struct {
		Size       int64
		PaddedSize int64  `json:"padded_size"`
		BlobSize   int64  `json:"blob_size"`
		SHA256     string `json:"sha256"`
		Blob       string
	}
	Buckets []int64
}

func readVectors(t *testing.T) *vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Blobs) == 0 || len(v.Buckets) < 2 || v.Blobs[0].Blob == "" {
		t.Fatal("vectors.json is incomplete")
	}
	return &v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors: with the vectors' key and nonce, Encrypt gives blobs of
// exactly the vectors' sizes and SHA-256 (and bytes, for the small ones),
// and Decrypt gives back the plaintexts.
func TestVectors(t *testing.T) {
	v := readVectors(t)
	key, nonce := unhex(t, v.Key), unhex(t, v.Nonce)
	for _, b := range v.Blobs {
		if got := attachment.PaddedSize(b.Size); got != b.PaddedSize {
			t.Errorf("size %d: PaddedSize %d, want %d", b.Size, got, b.PaddedSize)
		}
		if got := attachment.BlobSize(b.Size); got != b.BlobSize {
			t.Errorf("size %d: BlobSize %d, want %d", b.Size, got, b.BlobSize)
		}
		plain := plaintext(b.Size)
		r, err := attachment.Encrypt(key, nonce, b.Size, bytes.NewReader(plain), 0)
		if err != nil {
			t.Fatal(err)
		}
		blob, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(blob)
		if int64(len(blob)) != b.BlobSize || hex.EncodeToString(sum[:]) != b.SHA256 {
			t.Errorf("size %d: blob of %d bytes, SHA-256 %x; want %d bytes, %s", b.Size, len(blob), sum, b.BlobSize, b.SHA256)
		}
		if b.Blob != "" && !bytes.Equal(blob, unhex(t, b.Blob)) {
			t.Errorf("size %d:\n got %x\nwant %s", b.Size, blob, b.Blob)
		}
		d, err := attachment.Decrypt(key, b.Size, sum[:], bytes.NewReader(blob))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("size %d: decrypt: %v", b.Size, err)
		}
	}
}

// TestVectorBuckets: PaddedSize maps every size to the vectors' next
// bucket, checked at and around each one up to 100 MiB.
func TestVectorBuckets(t *testing.T) {
	v := readVectors(t)
	if v.Buckets[0] != 541 {
		t.Fatalf("the smallest bucket is %d, want 541", v.Buckets[0])
	}
	check := func(size, want int64) {
		t.Helper()
		if got := attachment.PaddedSize(size); got != want {
			t.Errorf("PaddedSize(%d) = %d, want %d", size, got, want)
		}
	}
	check(0, 541)
	for i, b := range v.Buckets {
		check(b, b)
		check(b-1, b)
		if i+1 < len(v.Buckets) {
			check(b+1, v.Buckets[i+1])
		}
	}
}

// Package blobtest is the conformance suite every blob.Store passes: the
// same tests run against fsblob and s3blob.
//
// Run calls newStore once per subtest; newStore registers its own
// cleanup (closing the store, removing its data). Subtests run one after
// another, since one of them measures the process's heap: a 64 MiB blob
// is streamed in and out from a generator, and the heap in use must stay
// within a bound that does not grow with the blob. Others run several
// goroutines on one store.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/wire"
)

// partSize is larger than any backend's unit of upload (s3blob's parts
// are 5 MiB), so that blobs of a few parts cross their boundaries.
const partSize = 5 << 20

// Run runs the conformance suite.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"Small", testSmall},
		{"Pieces", testPieces},
		{"Cut", testCut},
		{"CutAcrossParts", testCutAcrossParts},
		{"WrongOffset", testWrongOffset},
		{"TooLarge", testTooLarge},
		{"BadSize", testBadSize},
		{"AppendToComplete", testAppendToComplete},
		{"Incomplete", testIncomplete},
		{"Ranges", testRanges},
		{"Delete", testDelete},
		{"Exists", testExists},
		{"NotFound", testNotFound},
		{"Cancelled", testCancelled},
		{"ConcurrentUploads", testConcurrentUploads},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Stream64MiB", testStream64MiB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// errCut stands for a connection cut in the middle of an upload.
var errCut = errors.New("connection cut")

// randomBytes returns n bytes of a generator seeded by seed.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(seedOf(seed)).Read(b)
	return b
}

func seedOf(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// cutAfter returns a reader of b that fails with errCut once it is done.
func cutAfter(b []byte) io.Reader {
	return io.MultiReader(bytes.NewReader(b), iotestErr{errCut})
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }

// create starts an upload of size bytes with a fresh ID.
func create(t *testing.T, s blob.Store, size int64) wire.BlobID {
	t.Helper()
	id := wire.NewBlobID()
	if err := s.Create(t.Context(), id, size); err != nil {
		t.Fatalf("Create(%d): %v", size, err)
	}
	return id
}

// appendAll appends b at offset and expects the upload's offset to be
// offset+len(b) after.
func appendAll(t *testing.T, s blob.Store, id wire.BlobID, offset int64, b []byte) {
	t.Helper()
	n, err := s.Append(t.Context(), id, offset, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Append at %d of %d bytes: %v", offset, len(b), err)
	}
	if want := offset + int64(len(b)); n != want {
		t.Fatalf("Append at %d of %d bytes: offset %d, want %d", offset, len(b), n, want)
	}
}

// put stores b as a complete blob with a fresh ID.
func put(t *testing.T, s blob.Store, b []byte) wire.BlobID {
	t.Helper()
	id := create(t, s, int64(len(b)))
	appendAll(t, s, id, 0, b)
	return id
}

// stat expects id's upload to have received offset bytes of size.
func stat(t *testing.T, s blob.Store, id wire.BlobID, size, offset int64) blob.Info {
	t.Helper()
	info, err := s.Stat(t.Context(), id)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Size != size || info.Offset != offset || info.Complete != (offset == size) {
		t.Fatalf("Stat: %+v, want size %d, offset %d", info, size, offset)
	}
	return info
}

// read reads length bytes from offset of id.
func read(t *testing.T, s blob.Store, id wire.BlobID, offset, length int64) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), id, offset, length)
	if err != nil {
		t.Fatalf("Open(%d, %d): %v", offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read (%d, %d): %v", offset, length, err)
	}
	return b
}

// check expects id to hold want.
func check(t *testing.T, s blob.Store, id wire.BlobID, want []byte) {
	t.Helper()
	stat(t, s, id, int64(len(want)), int64(len(want)))
	if got := read(t, s, id, 0, int64(len(want))); !bytes.Equal(got, want) {
		t.Fatalf("blob of %d bytes read back differs (%d bytes)", len(want), len(got))
	}
}

func testSmall(t *testing.T, s blob.Store) {
	for _, size := range []int{1, 2, 1000, 64<<10 + 1} {
		want := randomBytes(uint64(size), size)
		before := time.Now()
		id := create(t, s, int64(size))
		created := stat(t, s, id, int64(size), 0).Created
		if created.Before(before.Add(-time.Second)) || created.After(time.Now().Add(time.Second)) {
			t.Fatalf("Created %v, want about %v", created, before)
		}
		appendAll(t, s, id, 0, want)
		check(t, s, id, want)
		if info := stat(t, s, id, int64(size), int64(size)); !info.Created.Equal(created) {
			t.Fatalf("Created %v once complete, was %v", info.Created, created)
		}
	}
}

// testPieces uploads blobs in pieces of many sizes, empty ones among
// them, and checks the offset after each.
func testPieces(t *testing.T, s blob.Store) {
	for _, size := range []int{10, 100 << 10, 2*partSize + 12345} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			want := randomBytes(uint64(size), size)
			id := create(t, s, int64(size))
			r := rand.New(rand.NewPCG(uint64(size), 1))
			off := 0
			for i := 0; off < size; i++ {
				n := min(size-off, r.IntN(size/3+2))
				if i%5 == 4 {
					n = 0
				}
				appendAll(t, s, id, int64(off), want[off:off+n])
				off += n
				stat(t, s, id, int64(size), int64(off))
			}
			check(t, s, id, want)
		})
	}
}

// testCut appends from readers that fail part way: every byte read
// before the failure is kept, and the upload resumes from there.
func testCut(t *testing.T, s blob.Store) {
	const size = 300 << 10
	want := randomBytes(7, size)
	id := create(t, s, size)
	off := 0
	for _, cut := range []int{1, 1000, 64 << 10, 100 << 10} {
		n, err := s.Append(t.Context(), id, int64(off), cutAfter(want[off:off+cut]))
		if !errors.Is(err, errCut) {
			t.Fatalf("Append cut after %d bytes: %v, want the reader's error", cut, err)
		}
		off += cut
		if n != int64(off) {
			t.Fatalf("Append cut: offset %d, want %d", n, off)
		}
		stat(t, s, id, size, int64(off))
		if _, err := s.Open(t.Context(), id, 0, 1); !errors.Is(err, blob.ErrIncomplete) {
			t.Fatalf("Open of a cut upload: %v, want ErrIncomplete", err)
		}
	}
	// A cut with no byte read keeps the offset.
	if n, err := s.Append(t.Context(), id, int64(off), cutAfter(nil)); !errors.Is(err, errCut) || n != int64(off) {
		t.Fatalf("Append cut at once: %d, %v; want %d and the reader's error", n, err, off)
	}
	appendAll(t, s, id, int64(off), want[off:])
	check(t, s, id, want)
}

// testCutAcrossParts cuts uploads just before, at and after the
// boundaries of a backend's parts, resuming each time.
func testCutAcrossParts(t *testing.T, s blob.Store) {
	const size = 3*partSize + 100
	want := randomBytes(11, size)
	id := create(t, s, size)
	off := 0
	for _, at := range []int{partSize - 1, partSize, partSize + 1, 2*partSize - 10, 2*partSize + 10, 3 * partSize, size - 1} {
		n, err := s.Append(t.Context(), id, int64(off), cutAfter(want[off:at]))
		if !errors.Is(err, errCut) || n != int64(at) {
			t.Fatalf("Append at %d cut at %d: %d, %v", off, at, n, err)
		}
		off = at
		stat(t, s, id, size, int64(off))
	}
	appendAll(t, s, id, int64(off), want[off:])
	check(t, s, id, want)
}

func testWrongOffset(t *testing.T, s blob.Store) {
	const size = 1000
	want := randomBytes(3, size)
	id := create(t, s, size)
	appendAll(t, s, id, 0, want[:100])
	for _, off := range []int64{0, 99, 101, size} {
		n, err := s.Append(t.Context(), id, off, bytes.NewReader(want[off:min(off+10, size)]))
		if !errors.Is(err, blob.ErrOffset) {
			t.Fatalf("Append at %d, upload at 100: %v, want ErrOffset", off, err)
		}
		if n != 100 {
			t.Fatalf("Append at %d, upload at 100: offset %d, want 100", off, n)
		}
	}
	stat(t, s, id, size, 100)
	appendAll(t, s, id, 100, want[100:])
	check(t, s, id, want)
}

// testTooLarge appends more bytes than the size: the bytes up to it are
// kept and the blob is complete.
func testTooLarge(t *testing.T, s blob.Store) {
	for _, size := range []int{1, 1000, partSize + 1} {
		want := randomBytes(5, size+10)
		id := create(t, s, int64(size))
		appendAll(t, s, id, 0, want[:size/2])
		n, err := s.Append(t.Context(), id, int64(size/2), bytes.NewReader(want[size/2:]))
		if !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("Append past size %d: %v, want ErrTooLarge", size, err)
		}
		if n != int64(size) {
			t.Fatalf("Append past size %d: offset %d", size, n)
		}
		check(t, s, id, want[:size])
	}
}

func testBadSize(t *testing.T, s blob.Store) {
	if err := s.Create(t.Context(), wire.NewBlobID(), wire.MaxBlobSize+1); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("Create past MaxBlobSize: %v, want ErrTooLarge", err)
	}
	for _, size := range []int64{0, -1} {
		id := wire.NewBlobID()
		if err := s.Create(t.Context(), id, size); err == nil {
			t.Fatalf("Create of %d bytes: no error", size)
		}
		if _, err := s.Stat(t.Context(), id); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat after a refused Create: %v, want ErrNotFound", err)
		}
	}
	// The largest blob can be started (not filled: that is the relay's
	// business, and slow).
	id := create(t, s, wire.MaxBlobSize)
	stat(t, s, id, wire.MaxBlobSize, 0)
}

// testAppendToComplete: a complete blob is an upload at its size that
// takes no more bytes.
func testAppendToComplete(t *testing.T, s blob.Store) {
	want := randomBytes(8, 100)
	id := put(t, s, want)
	if n, err := s.Append(t.Context(), id, 100, bytes.NewReader(nil)); err != nil || n != 100 {
		t.Fatalf("empty Append to a complete blob: %d, %v", n, err)
	}
	if n, err := s.Append(t.Context(), id, 100, bytes.NewReader([]byte{1})); !errors.Is(err, blob.ErrTooLarge) || n != 100 {
		t.Fatalf("Append to a complete blob: %d, %v; want 100, ErrTooLarge", n, err)
	}
	if n, err := s.Append(t.Context(), id, 50, bytes.NewReader([]byte{1})); !errors.Is(err, blob.ErrOffset) || n != 100 {
		t.Fatalf("Append inside a complete blob: %d, %v; want 100, ErrOffset", n, err)
	}
	check(t, s, id, want)
}

func testIncomplete(t *testing.T, s blob.Store) {
	id := create(t, s, 100)
	if _, err := s.Open(t.Context(), id, 0, 1); !errors.Is(err, blob.ErrIncomplete) {
		t.Fatalf("Open of an empty upload: %v, want ErrIncomplete", err)
	}
	appendAll(t, s, id, 0, make([]byte, 99))
	if _, err := s.Open(t.Context(), id, 0, 1); !errors.Is(err, blob.ErrIncomplete) {
		t.Fatalf("Open of an upload one byte short: %v, want ErrIncomplete", err)
	}
}

func testRanges(t *testing.T, s blob.Store) {
	const size = 200 << 10
	want := randomBytes(9, size)
	id := put(t, s, want)
	for _, r := range []struct {
		name           string
		offset, length int64
	}{
		{"first byte", 0, 1},
		{"last byte", size - 1, 1},
		{"middle", 1000, 100 << 10},
		{"whole", 0, size},
		{"head", 0, 12345},
		{"tail", size - 777, 777},
	} {
		got := read(t, s, id, r.offset, r.length)
		if !bytes.Equal(got, want[r.offset:r.offset+r.length]) {
			t.Errorf("%s (%d, %d): %d bytes read differ", r.name, r.offset, r.length, len(got))
		}
	}
	for _, r := range []struct {
		name           string
		offset, length int64
	}{
		{"at the end", size, 1},
		{"past the end", size + 10, 1},
		{"longer than the blob", 0, size + 1},
		{"running past the end", size - 10, 11},
		{"negative offset", -1, 10},
		{"empty", 0, 0},
		{"negative length", 10, -1},
	} {
		rc, err := s.Open(t.Context(), id, r.offset, r.length)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, blob.ErrRange) {
			t.Errorf("Open %s (%d, %d): %v, want ErrRange", r.name, r.offset, r.length, err)
		}
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := t.Context()
	done := put(t, s, randomBytes(1, 1000))
	empty := create(t, s, 1000)
	partial := create(t, s, 2*partSize)
	appendAll(t, s, partial, 0, randomBytes(2, partSize+10))
	cut := create(t, s, 1000)
	if _, err := s.Append(ctx, cut, 0, cutAfter(make([]byte, 10))); !errors.Is(err, errCut) {
		t.Fatal(err)
	}
	for _, id := range []wire.BlobID{done, empty, partial, cut} {
		if err := s.Delete(ctx, id); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Stat(ctx, id); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat after Delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Open(ctx, id, 0, 1); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Append(ctx, id, 0, bytes.NewReader([]byte{1})); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Append after Delete: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatalf("Delete again: %v", err)
		}
	}
	if err := s.Delete(ctx, wire.NewBlobID()); err != nil {
		t.Fatalf("Delete of an unknown blob: %v", err)
	}
	// A deleted ID starts afresh.
	want := randomBytes(3, 500)
	if err := s.Create(ctx, done, int64(len(want))); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	stat(t, s, done, 500, 0)
	appendAll(t, s, done, 0, want)
	check(t, s, done, want)
}

func testExists(t *testing.T, s blob.Store) {
	ctx := t.Context()
	id := create(t, s, 10)
	if err := s.Create(ctx, id, 10); !errors.Is(err, blob.ErrExists) {
		t.Fatalf("Create of an upload again: %v, want ErrExists", err)
	}
	appendAll(t, s, id, 0, make([]byte, 10))
	if err := s.Create(ctx, id, 20); !errors.Is(err, blob.ErrExists) {
		t.Fatalf("Create of a complete blob again: %v, want ErrExists", err)
	}
	stat(t, s, id, 10, 10)
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := t.Context()
	id := wire.NewBlobID()
	if _, err := s.Stat(ctx, id); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat: %v, want ErrNotFound", err)
	}
	if _, err := s.Append(ctx, id, 0, bytes.NewReader([]byte{1})); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Append: %v, want ErrNotFound", err)
	}
	if _, err := s.Open(ctx, id, 0, 1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open: %v, want ErrNotFound", err)
	}
}

// testCancelled: a cancelled context stops every call, and an Append
// whose reader fails with the request's cancellation keeps what it read.
func testCancelled(t *testing.T, s blob.Store) {
	want := randomBytes(4, 3000)
	id := create(t, s, int64(len(want)))
	appendAll(t, s, id, 0, want[:1000])
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Create(ctx, wire.NewBlobID(), 10); !errors.Is(err, context.Canceled) {
		t.Errorf("Create: %v", err)
	}
	if n, err := s.Append(ctx, id, 1000, bytes.NewReader(want[1000:])); !errors.Is(err, context.Canceled) || n != 1000 {
		t.Errorf("Append: %d, %v; want 1000, context.Canceled", n, err)
	}
	if _, err := s.Stat(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat: %v", err)
	}
	if _, err := s.Open(ctx, id, 0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Open: %v", err)
	}
	if err := s.Delete(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
	stat(t, s, id, 3000, 1000)
	n, err := s.Append(t.Context(), id, 1000, io.MultiReader(bytes.NewReader(want[1000:2000]), iotestErr{context.Canceled}))
	if !errors.Is(err, context.Canceled) || n != 2000 {
		t.Fatalf("Append cancelled part way: %d, %v; want 2000, context.Canceled", n, err)
	}
	appendAll(t, s, id, 2000, want[2000:])
	check(t, s, id, want)
}

func testConcurrentUploads(t *testing.T, s blob.Store) {
	const uploads = 8
	var wg sync.WaitGroup
	errs := make(chan error, uploads)
	for i := range uploads {
		wg.Go(func() {
			size := 100<<10 + i*1000
			if i == 0 {
				size = partSize + 1
			}
			want := randomBytes(uint64(100+i), size)
			id := wire.NewBlobID()
			if err := s.Create(t.Context(), id, int64(size)); err != nil {
				errs <- err
				return
			}
			for off := 0; off < size; off += 30 << 10 {
				end := min(size, off+30<<10)
				if n, err := s.Append(t.Context(), id, int64(off), bytes.NewReader(want[off:end])); err != nil || n != int64(end) {
					errs <- fmt.Errorf("upload %d: Append at %d: %d, %v", i, off, n, err)
					return
				}
			}
			rc, err := s.Open(t.Context(), id, 0, int64(size))
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, want) {
				errs <- fmt.Errorf("upload %d: read back differs (%d bytes, %v)", i, len(got), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testConcurrentAppends: a second Append to an upload while one is in
// progress fails with ErrOffset and leaves the first alone.
func testConcurrentAppends(t *testing.T, s blob.Store) {
	const size = 10000
	want := randomBytes(6, size)
	id := create(t, s, size)
	appendAll(t, s, id, 0, want[:1000])
	r := &gate{b: want[1000:], reading: make(chan struct{}), release: make(chan struct{})}
	type result struct {
		n   int64
		err error
	}
	first := make(chan result, 1)
	go func() {
		n, err := s.Append(t.Context(), id, 1000, r)
		first <- result{n, err}
	}()
	<-r.reading
	n, err := s.Append(t.Context(), id, 1000, bytes.NewReader(make([]byte, size-1000)))
	if !errors.Is(err, blob.ErrOffset) {
		t.Errorf("second Append: %d, %v; want ErrOffset", n, err)
	}
	if info, err := s.Stat(t.Context(), id); err != nil || info.Offset < 1000 || info.Offset > size {
		t.Errorf("Stat during an Append: %+v, %v", info, err)
	}
	close(r.release)
	if res := <-first; res.err != nil || res.n != size {
		t.Fatalf("first Append: %d, %v", res.n, res.err)
	}
	check(t, s, id, want)
}

// gate hands over its first byte, then closes reading and waits for
// release before the rest.
type gate struct {
	b        []byte
	off      int
	reading  chan struct{}
	release  chan struct{}
	released bool
}

func (g *gate) Read(p []byte) (int, error) {
	if g.off == 1 && !g.released {
		close(g.reading)
		<-g.release
		g.released = true
	}
	if g.off >= len(g.b) {
		return 0, io.EOF
	}
	end := len(g.b)
	if g.off == 0 {
		end = 1
	}
	n := copy(p, g.b[g.off:end])
	g.off += n
	return n, nil
}

// maxHeapGrowth bounds how far the heap in use may grow while a 64 MiB
// blob streams in and out: a few of the largest buffers a backend keeps
// (s3blob's 5 MiB part) and what its client library allocates, far from
// the blob's size.
const maxHeapGrowth = 40 << 20

// testStream64MiB uploads a 64 MiB blob from a generator in two
// Appends (48 MiB, then 16) and reads it back whole, sampling the heap as
// bytes flow: it must never hold the blob, nor one Append's bytes.
func testStream64MiB(t *testing.T, s blob.Store) {
	const size = 64 << 20
	const first = 48 << 20
	id := create(t, s, size)
	m := newHeapMeter()
	up := sha256.New()
	g := &generator{r: rand.NewChaCha8(seedOf(64)), n: size, sum: up, meter: m}
	for _, span := range [][2]int64{{0, first}, {first, size}} {
		n, err := s.Append(t.Context(), id, span[0], io.LimitReader(g, span[1]-span[0]))
		if err != nil || n != span[1] {
			t.Fatalf("Append at %d: %d, %v", span[0], n, err)
		}
	}
	stat(t, s, id, size, size)
	rc, err := s.Open(t.Context(), id, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	down := sha256.New()
	n, err := io.Copy(&meteredWriter{w: down, meter: m}, rc)
	rc.Close()
	if err != nil || n != size {
		t.Fatalf("read back: %d bytes, %v", n, err)
	}
	if !bytes.Equal(up.Sum(nil), down.Sum(nil)) {
		t.Fatal("the blob read back differs from the one written")
	}
	if g := m.growth(); g > maxHeapGrowth {
		t.Fatalf("the heap in use grew by %d MiB while 64 MiB streamed through the store, bound %d MiB", g>>20, maxHeapGrowth>>20)
	} else {
		t.Logf("heap growth at most %.1f MiB over %d samples", float64(g)/(1<<20), m.samples)
	}
}

// heapMeter samples the heap in use every sampleEvery bytes and keeps
// the largest growth over its value at the start.
type heapMeter struct {
	base, peak uint64
	bytes      int64
	samples    int
}

const sampleEvery = 1 << 20

func newHeapMeter() *heapMeter {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &heapMeter{base: ms.HeapInuse, peak: ms.HeapInuse}
}

func (m *heapMeter) add(n int) {
	before := m.bytes
	m.bytes += int64(n)
	if before/sampleEvery == m.bytes/sampleEvery {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.peak = max(m.peak, ms.HeapInuse)
	m.samples++
}

func (m *heapMeter) growth() uint64 { return m.peak - m.base }

// generator reads n bytes of r, feeding what it hands over to sum and
// the meter.
type generator struct {
	r     io.Reader
	n     int64
	sum   io.Writer
	meter *heapMeter
}

func (g *generator) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n)]
	n, _ := g.r.Read(p)
	g.n -= int64(n)
	g.sum.Write(p[:n])
	g.meter.add(n)
	return n, nil
}

type meteredWriter struct {
	w     io.Writer
	meter *heapMeter
}

func (w *meteredWriter) Write(p []byte) (int, error) {
	w.meter.add(len(p))
	return w.w.Write(p)
}

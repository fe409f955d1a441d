// Package fsblob is the blob store on a local file system, the embedded
// relay's default (its directory is <data dir>/blobs).
//
// Each upload is one file, sharded into 256 subdirectories by the first
// two hex digits of its ID: "ab/<id>.part" while bytes arrive, renamed to
// "ab/<id>" when the last byte is in. The file starts with a 24-byte
// header (a magic string, the size, the creation time), then the blob's
// bytes, so an upload's offset is its file's length less the header.
//
// Durability: Create writes the header to a file in "tmp" and links it
// into place only after syncing, so an upload is created whole or not at
// all. Append syncs the file before it returns an offset, and the
// completing rename is synced with its directory: an offset the store
// has reported survives a crash. While an Append runs, Stat reports the
// offset the Append began at, never bytes not yet synced. A crash
// between an Append's last sync and its rename leaves an upload with all
// its bytes, which Stat and Open complete. The store
// assumes one process uses the directory (the relay's data directory is
// locked), and empties "tmp" when it starts.
//
// Memory: one 64 KiB copy buffer per Append in progress; reads stream
// from the file.
package fsblob

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/wire"
)

// headerSize is the length of the header at the start of every file.
const headerSize = 24

// magic starts every file's header, naming the format.
const magic = "MUTBLOB1"

// copyBuffer is the size of Append's copy buffer.
const copyBuffer = 64 << 10

var _ blob.Store = (*Store)(nil)

// Store is a blob.Store on a directory. Use New.
type Store struct {
	dir string

	mu sync.Mutex
	// appending holds the uploads with an Append in progress and the
	// offset each Append began at.
	appending map[wire.BlobID]int64
}

// New opens the store in dir, creating the directory when it is missing.
func New(dir string) (*Store, error) {
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	// Files left in tmp by a crash in Create were never linked into place.
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(tmp, e.Name())); err != nil {
			return nil, fmt.Errorf("fsblob: %w", err)
		}
	}
	return &Store{dir: dir, appending: make(map[wire.BlobID]int64)}, nil
}

// paths returns the shard directory of id and the paths of its upload
// and its complete blob.
func (s *Store) paths(id wire.BlobID) (shard, part, done string) {
	h := id.String()
	shard = filepath.Join(s.dir, h[:2])
	return shard, filepath.Join(shard, h+".part"), filepath.Join(shard, h)
}

// header is what the start of a file says.
type header struct {
	size    int64
	created time.Time
}

func (h header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, magic)
	binary.BigEndian.PutUint64(b[8:], uint64(h.size))
	binary.BigEndian.PutUint64(b[16:], uint64(h.created.UnixNano()))
	return b
}

// readHeader reads and checks f's header.
func readHeader(f *os.File) (header, error) {
	b := make([]byte, headerSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		return header{}, fmt.Errorf("fsblob: read header of %s: %w", filepath.Base(f.Name()), err)
	}
	if string(b[:8]) != magic {
		return header{}, fmt.Errorf("fsblob: %s is not a blob file", filepath.Base(f.Name()))
	}
	h := header{
		size:    int64(binary.BigEndian.Uint64(b[8:])),
		created: time.Unix(0, int64(binary.BigEndian.Uint64(b[16:]))),
	}
	if h.size < 1 || h.size > wire.MaxBlobSize {
		return header{}, fmt.Errorf("fsblob: %s has a bad size", filepath.Base(f.Name()))
	}
	return h, nil
}

// Create starts an upload of size bytes.
func (s *Store) Create(ctx context.Context, id wire.BlobID, size int64) error {
	if size < 1 {
		return fmt.Errorf("fsblob: size %d: a blob has at least one byte", size)
	}
	if size > wire.MaxBlobSize {
		return fmt.Errorf("fsblob: size %d: %w", size, blob.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	shard, part, done := s.paths(id)
	if exists(done) {
		return blob.ErrExists
	}
	if err := os.MkdirAll(shard, 0o700); err != nil {
		return fmt.Errorf("fsblob: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "create-*")
	if err != nil {
		return fmt.Errorf("fsblob: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(header{size: size, created: time.Now()}.encode())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsblob: create: %w", err)
	}
	// A link, unlike a rename, fails when the name is taken.
	if err := os.Link(tmp.Name(), part); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return blob.ErrExists
		}
		return fmt.Errorf("fsblob: create: %w", err)
	}
	if err := syncDir(shard); err != nil {
		return fmt.Errorf("fsblob: create: %w", err)
	}
	// An upload of the same ID may have completed since the check above.
	if exists(done) {
		os.Remove(part)
		return blob.ErrExists
	}
	return nil
}

// Append writes r's bytes at offset.
func (s *Store) Append(ctx context.Context, id wire.BlobID, offset int64, r io.Reader) (int64, error) {
	shard, part, done := s.paths(id)
	f, err := os.OpenFile(part, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return s.appendDone(done, offset, r)
	}
	if err != nil {
		return 0, fmt.Errorf("fsblob: append: %w", err)
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return 0, err
	}
	start, err := s.begin(id, f, h)
	if err != nil {
		return start, err
	}
	defer func() {
		s.mu.Lock()
		delete(s.appending, id)
		s.mu.Unlock()
	}()

	if offset != start {
		return start, blob.ErrOffset
	}
	n, rerr := copyAt(ctx, f, headerSize+start, io.LimitReader(r, h.size-start))
	if err := f.Sync(); err != nil {
		// What the failed sync covered is unknown: drop it all.
		terr := f.Truncate(headerSize + start)
		return start, fmt.Errorf("fsblob: append: %w", errors.Join(err, terr))
	}
	end := start + n
	if end < h.size {
		if rerr != nil {
			return end, fmt.Errorf("fsblob: append: %w", rerr)
		}
		return end, nil
	}
	// Every byte is in, whatever r does next; one more from r is too many.
	tooLarge := rerr == nil && readsMore(r)
	if err := f.Close(); err != nil {
		return start, fmt.Errorf("fsblob: append: %w", err)
	}
	if err := complete(shard, part, done); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return end, fmt.Errorf("fsblob: complete: %w", err)
		}
		if !exists(done) {
			return 0, blob.ErrNotFound // deleted during the Append
		}
		// Completed by Stat or Open in the meantime.
	}
	if tooLarge {
		return end, blob.ErrTooLarge
	}
	return end, nil
}

// begin marks id's upload as being appended to and returns its offset,
// or ErrOffset when another Append is in progress. The file's length is
// read under the lock, so that it is never one another Append changes.
func (s *Store) begin(id wire.BlobID, f *os.File, h header) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, busy := s.appending[id]; busy {
		return at, blob.ErrOffset
	}
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("fsblob: append: %w", err)
	}
	start := st.Size() - headerSize
	if start < 0 || start > h.size {
		return 0, fmt.Errorf("fsblob: %s has a bad length", filepath.Base(f.Name()))
	}
	s.appending[id] = start
	return start, nil
}

// appendDone is Append to an upload that is not in progress: a complete
// blob (offset its size, and no more bytes) or none.
func (s *Store) appendDone(done string, offset int64, r io.Reader) (int64, error) {
	f, err := os.Open(done)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, blob.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("fsblob: append: %w", err)
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return 0, err
	}
	if offset != h.size {
		return h.size, blob.ErrOffset
	}
	if readsMore(r) {
		return h.size, blob.ErrTooLarge
	}
	return h.size, nil
}

// copyAt copies r to f from off on until r ends, and returns how many
// bytes it wrote; its error is r's (not io.EOF), the context's or the
// file's.
func copyAt(ctx context.Context, f *os.File, off int64, r io.Reader) (int64, error) {
	buf := make([]byte, copyBuffer)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			w, werr := f.WriteAt(buf[:m], off+n)
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// readsMore reports whether r has another byte.
func readsMore(r io.Reader) bool {
	var b [1]byte
	n, _ := io.ReadFull(r, b[:])
	return n > 0
}

// complete renames an upload whose bytes are all in to its blob's name.
func complete(shard, part, done string) error {
	if err := os.Rename(part, done); err != nil {
		return err
	}
	return syncDir(shard)
}

// recover completes id's upload if all its bytes are in and no Append
// is in progress: a crash after an Append's sync and before its rename
// leaves such an upload.
func (s *Store) recover(id wire.BlobID) error {
	shard, part, done := s.paths(id)
	f, err := os.Open(part)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fsblob: %w", err)
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.appending[id]; busy {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("fsblob: %w", err)
	}
	if st.Size()-headerSize != h.size {
		return nil
	}
	if err := complete(shard, part, done); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsblob: complete: %w", err)
	}
	return nil
}

// openDone opens id's complete blob, completing its upload first when
// all its bytes are in.
func (s *Store) openDone(id wire.BlobID) (*os.File, error) {
	_, _, done := s.paths(id)
	f, err := os.Open(done)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	if err := s.recover(id); err != nil {
		return nil, err
	}
	return os.Open(done)
}

// Stat describes an upload or blob.
func (s *Store) Stat(ctx context.Context, id wire.BlobID) (blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	_, part, _ := s.paths(id)
	complete := true
	f, err := s.openDone(id)
	if errors.Is(err, fs.ErrNotExist) {
		complete = false
		f, err = os.Open(part)
	}
	if errors.Is(err, fs.ErrNotExist) {
		// The upload may have completed between the two opens.
		complete = true
		f, err = s.openDone(id)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return blob.Info{}, blob.ErrNotFound
	}
	if err != nil {
		return blob.Info{}, fmt.Errorf("fsblob: stat: %w", err)
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return blob.Info{}, err
	}
	info := blob.Info{Size: h.size, Offset: h.size, Complete: true, Created: h.created}
	if complete {
		return info, nil
	}
	st, err := f.Stat()
	if err != nil {
		return blob.Info{}, fmt.Errorf("fsblob: stat: %w", err)
	}
	info.Complete = false
	info.Offset = min(st.Size()-headerSize, h.size)
	s.mu.Lock()
	if at, busy := s.appending[id]; busy {
		info.Offset = min(info.Offset, at)
	}
	s.mu.Unlock()
	return info, nil
}

// Open reads length bytes from offset of a complete blob.
func (s *Store) Open(ctx context.Context, id wire.BlobID, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, part, _ := s.paths(id)
	f, err := s.openDone(id)
	if errors.Is(err, fs.ErrNotExist) {
		if exists(part) {
			return nil, blob.ErrIncomplete
		}
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("fsblob: open: %w", err)
	}
	h, err := readHeader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if offset < 0 || length < 1 || offset > h.size-length {
		f.Close()
		return nil, blob.ErrRange
	}
	return &reader{SectionReader: io.NewSectionReader(f, headerSize+offset, length), f: f}, nil
}

// reader reads a range of a blob's file.
type reader struct {
	*io.SectionReader
	f *os.File
}

func (r *reader) Close() error { return r.f.Close() }

// Delete removes an upload or blob.
func (s *Store) Delete(ctx context.Context, id wire.BlobID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	shard, part, done := s.paths(id)
	var errs []error
	for _, p := range []string{done, part} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fsblob: delete: %w", err)
	}
	if err := syncDir(shard); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsblob: delete: %w", err)
	}
	return nil
}

// Close releases nothing: the store holds no open files between calls.
func (s *Store) Close() error { return nil }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// syncDir makes the creation, renaming or removal of entries in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}

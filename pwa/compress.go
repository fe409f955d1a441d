//go:build !wasm

package pwa

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

// encoding is a content coding the handler can send precompressed.
type encoding struct {
	name     string // the Content-Encoding token
	ext      string // the suffix of the compressed copy's file name
	compress func(w io.Writer) io.WriteCloser
	reader   func(r io.Reader) (io.Reader, error)
}

// encodings are the precompressed copies, in order of preference.
var encodings = [...]encoding{
	{
		name: "br", ext: ".br",
		// Quality 11 with a 16 MiB window: the smallest output, worth
		// its cost for a file compressed once per build.
		compress: func(w io.Writer) io.WriteCloser {
			return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
		},
		reader: func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	},
	{
		name: "gzip", ext: ".gz",
		compress: func(w io.Writer) io.WriteCloser {
			zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression) // a valid level: no error
			return zw
		},
		reader: func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	},
}

// wasmFile is the name of the app's WebAssembly in the app's directory.
const wasmFile = "app.wasm"

// Prepare writes the compressed copies of app.wasm the handler serves,
// app.wasm.br (brotli, quality 11) and app.wasm.gz (gzip, best), beside
// it in dir, unless they already decompress to the current app.wasm. It
// returns the names of the files it wrote. Each is written under a
// temporary name and renamed, so a reader never sees half of one.
func Prepare(dir string) ([]string, error) {
	wasm, err := os.ReadFile(filepath.Join(dir, wasmFile))
	if err != nil {
		return nil, fmt.Errorf("read the app: %w", err)
	}
	var written []string
	for _, enc := range encodings {
		name := wasmFile + enc.ext
		cur, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case err == nil && enc.holds(cur, wasm):
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return written, err
		}
		if err := writeFile(dir, name, enc.pack(wasm)); err != nil {
			return written, err
		}
		written = append(written, name)
	}
	return written, nil
}

// pack compresses b.
func (enc encoding) pack(b []byte) []byte {
	var out bytes.Buffer
	w := enc.compress(&out)
	w.Write(b) // writes to a bytes.Buffer do not fail
	w.Close()
	return out.Bytes()
}

// holds reports whether compressed decompresses to exactly raw.
func (enc encoding) holds(compressed, raw []byte) bool {
	r, err := enc.reader(bytes.NewReader(compressed))
	if err != nil {
		return false
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > len(raw) || !bytes.Equal(buf[:n], raw[:n]) {
			return false
		}
		raw = raw[n:]
		switch {
		case err == io.EOF:
			return len(raw) == 0
		case err != nil:
			return false
		}
	}
}

// writeFile writes name in dir through a temporary file renamed into place.
func writeFile(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

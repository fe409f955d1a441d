package embedded

import (
	"errors"
	"fmt"
	"io"
)

// errTornFrame means bytes remain before the end of the range that do not
// form a complete, valid frame.
var errTornFrame = errors.New("torn frame")

// frameReader reads consecutive frames from a byte range of a segment file.
type frameReader struct {
	r     io.ReaderAt
	pos   int64  // file position of buf[0]
	end   int64  // end of the range
	buf   []byte // bytes read but not yet decoded
	chunk int
	// stable: frames returned stay valid after later calls (their buffers
	// are never reused). Without it, a frame is valid until the next call.
	stable bool
	store  []byte
}

func newFrameReader(r io.ReaderAt, pos, end int64, chunk int, stable bool) *frameReader {
	return &frameReader{r: r, pos: pos, end: end, chunk: chunk, stable: stable}
}

// next returns the next frame and its file position. At the end of the range
// it returns io.EOF; if the range ends with bytes that are not a valid
// frame, errTornFrame.
func (fr *frameReader) next() (frame, int64, error) {
	for {
		f, n, err := decodeFrame(fr.buf)
		if err == nil {
			at := fr.pos
			fr.buf = fr.buf[n:]
			fr.pos += int64(n)
			return f, at, nil
		}
		if errors.Is(err, errBadFrame) {
			return frame{}, fr.pos, errTornFrame
		}
		unread := fr.end - fr.pos - int64(len(fr.buf))
		if unread <= 0 {
			if len(fr.buf) == 0 {
				return frame{}, fr.pos, io.EOF
			}
			return frame{}, fr.pos, errTornFrame
		}
		if err := fr.fill(n, unread); err != nil {
			return frame{}, fr.pos, err
		}
	}
}

// fill reads more of the range so that at least need bytes are buffered
// (or the range is exhausted).
func (fr *frameReader) fill(need int, unread int64) error {
	want := max(need, len(fr.buf)+fr.chunk)
	if int64(want-len(fr.buf)) > unread {
		want = len(fr.buf) + int(unread)
	}
	var nb []byte
	if !fr.stable && cap(fr.store) >= want {
		nb = fr.store[:want]
	} else {
		nb = make([]byte, want)
		if !fr.stable {
			fr.store = nb
		}
	}
	kept := copy(nb, fr.buf)
	at := fr.pos + int64(kept)
	n, err := fr.r.ReadAt(nb[kept:], at)
	if err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		if errors.Is(err, io.EOF) {
			// The file is shorter than the range: treat its end as the range's.
			fr.end = at
			fr.buf = nb[:kept]
			return nil
		}
		return fmt.Errorf("read segment: %w", err)
	}
	if n < len(nb)-kept {
		fr.end = at + int64(n)
	}
	fr.buf = nb[:kept+n]
	return nil
}

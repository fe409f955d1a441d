package embedded

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A frame is one record as stored in a segment file. All integers are
// big-endian.
//
//	0   4  body length L (bytes after this 8-byte header)
//	4   4  CRC-32C (Castagnoli) of the L body bytes
//	8   8  offset
//	16  8  append time, Unix nanoseconds
//	24  4  key length K
//	28  K  key
//	28+K   value (L-20-K bytes)
const (
	frameHeader   = 8
	frameFixed    = 20 // offset + time + key length
	frameOverhead = frameHeader + frameFixed

	// hardMaxRecordBytes bounds Config.MaxRecordBytes, so that a length
	// field larger than any record ever written is recognised as garbage.
	hardMaxRecordBytes = 256 << 20
	maxFrameBody       = frameFixed + hardMaxRecordBytes
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errShortFrame means the buffer ends inside a frame.
	errShortFrame = errors.New("short frame")
	// errBadFrame means the bytes are not a valid frame.
	errBadFrame = errors.New("corrupt frame")
)

type frame struct {
	offset int64
	time   int64
	key    []byte
	value  []byte
}

func frameLen(keyLen, valueLen int) int { return frameOverhead + keyLen + valueLen }

// appendFrame appends the encoding of one record to dst.
func appendFrame(dst []byte, offset, unixNano int64, key, value []byte) []byte {
	body := frameFixed + len(key) + len(value)
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(body))
	dst = append(dst, 0, 0, 0, 0) // CRC, filled below
	dst = binary.BigEndian.AppendUint64(dst, uint64(offset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(unixNano))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(key)))
	dst = append(dst, key...)
	dst = append(dst, value...)
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+frameHeader:], castagnoli))
	return dst
}

// decodeFrame decodes the frame at the start of b. It returns the frame and
// its encoded length. If b ends inside the frame it returns errShortFrame and
// the number of bytes the whole frame needs (or frameHeader if the length is
// not yet known). Key and value alias b.
func decodeFrame(b []byte) (frame, int, error) {
	if len(b) < frameHeader {
		return frame{}, frameHeader, errShortFrame
	}
	body := binary.BigEndian.Uint32(b)
	if body < frameFixed || body > maxFrameBody {
		return frame{}, 0, errBadFrame
	}
	n := frameHeader + int(body)
	if len(b) < n {
		return frame{}, n, errShortFrame
	}
	data := b[frameHeader:n]
	if crc32.Checksum(data, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return frame{}, 0, errBadFrame
	}
	keyLen := binary.BigEndian.Uint32(data[16:])
	if keyLen > body-frameFixed {
		return frame{}, 0, errBadFrame
	}
	k := frameFixed + int(keyLen)
	return frame{
		offset: int64(binary.BigEndian.Uint64(data)),
		time:   int64(binary.BigEndian.Uint64(data[8:])),
		key:    data[frameFixed:k:k],
		value:  data[k:],
	}, n, nil
}

package wire

import (
	"errors"

	"github.com/mutualcoop/mutual/internal/pb"
)

// Upload asks to upload an attachment's blob of Size bytes (at most
// MaxBlobSize), or, with Blob set, for a fresh token to resume an upload
// this account started and has not finished. Answer: UploadGrant, or
// Error (too_large, quota_exceeded with RetryAfterMS, rate_limited,
// not_found for a Blob this account has no unfinished upload of).
//
// The relay counts Size against the account's bytes a day when it grants
// a new upload.
type Upload struct {
	Size uint64
	Blob BlobID
}

func (*Upload) Type() Type { return TypeUpload }

func (m *Upload) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, m.Size)
	if !m.Blob.IsZero() {
		e.ID(2, m.Blob)
	}
	return e
}

func (m *Upload) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Size, err = f.Uint64()
		case 2:
			err = f.FixedBytes(m.Blob[:])
		}
		return err
	})
}

// UploadGrant answers Upload: the blob's ID and a token that authorises
// the HTTP requests of its upload (HEAD and PATCH on /v1/blobs/{Blob},
// see docs/protocol.md "Attachments") until Expires (Unix ms, the relay's
// clock).
type UploadGrant struct {
	Blob      BlobID
	Token     []byte // at most MaxBlobToken bytes
	Size      uint64 // the blob's size, as granted
	ExpiresMS int64
}

func (*UploadGrant) Type() Type { return TypeUploadGrant }

func (m *UploadGrant) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.ID(1, m.Blob)
	e.Bytes(2, m.Token)
	e.Uint(3, m.Size)
	e.Sint(4, m.ExpiresMS)
	return e
}

func (m *UploadGrant) decode(b []byte) error {
	err := pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.Blob[:])
		case 2:
			m.Token, err = f.Bytes(MaxBlobToken)
		case 3:
			m.Size, err = f.Uint64()
		case 4:
			m.ExpiresMS, err = f.Sint64()
		}
		return err
	})
	if err == nil && (m.Blob.IsZero() || len(m.Token) == 0) {
		err = errors.New("wire: upload grant without blob or token")
	}
	return err
}

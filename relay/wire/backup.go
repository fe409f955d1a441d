package wire

import (
	"fmt"

	"github.com/mutualcoop/mutual/internal/pb"
)

// BackupOp is what a Backup frame does.
type BackupOp uint32

// Backup operations.
const (
	// BackupGet asks for the account's backup. Answer: BackupInfo, or
	// Error not_found when there is none. A held device may ask.
	BackupGet BackupOp = 1
	// BackupSet makes Blob, a finished upload of this account, the
	// account's backup with Sealed; the previous backup's blob is deleted.
	// Answer: OK, or Error (not_found when Blob is no finished upload of
	// this account, device_pending, rate_limited).
	BackupSet BackupOp = 2
	// BackupDelete deletes the account's backup. Answer: OK, or Error
	// (device_pending, rate_limited).
	BackupDelete BackupOp = 3
)

// Backup reads, replaces or deletes the account's encrypted backup (see
// BackupOp). The relay keeps Sealed opaque: it is key material only the
// account's recovery secret opens.
type Backup struct {
	Op     BackupOp
	Blob   BlobID // BackupSet
	Sealed []byte // BackupSet: at most MaxBackupSealed bytes
}

func (*Backup) Type() Type { return TypeBackup }

func (m *Backup) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Op))
	e.ID(2, m.Blob)
	e.Bytes(3, m.Sealed)
	return e
}

func (m *Backup) decode(b []byte) error {
	err := pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			var op uint32
			op, err = f.Uint32()
			m.Op = BackupOp(op)
		case 2:
			err = f.FixedBytes(m.Blob[:])
		case 3:
			m.Sealed, err = f.Bytes(MaxBackupSealed)
		}
		return err
	})
	if err != nil {
		return err
	}
	if m.Op < BackupGet || m.Op > BackupDelete {
		return fmt.Errorf("%w: backup op %d", ErrMalformed, m.Op)
	}
	return nil
}

// BackupInfo answers Backup get: the backup's blob (download it as any
// attachment's), its sealed key material, when it was set (Unix ms) and
// the blob's size in bytes.
type BackupInfo struct {
	Blob      BlobID
	Sealed    []byte
	CreatedMS int64
	Size      uint64
}

func (*BackupInfo) Type() Type { return TypeBackupInfo }

func (m *BackupInfo) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.ID(1, m.Blob)
	e.Bytes(2, m.Sealed)
	e.Sint(3, m.CreatedMS)
	e.Uint(4, m.Size)
	return e
}

func (m *BackupInfo) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.Blob[:])
		case 2:
			m.Sealed, err = f.Bytes(MaxBackupSealed)
		case 3:
			m.CreatedMS, err = f.Sint64()
		case 4:
			m.Size, err = f.Uint64()
		}
		return err
	})
}

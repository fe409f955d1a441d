package client

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Fuzz targets for the records that linking, backups and history
// transfer read: whatever they accept must encode again to something
// they accept alike.

func FuzzParseProvision(f *testing.F) {
	voucher, err := keys.NewPrivateKey(bytes.Repeat([]byte{3}, keys.PrivateKeySize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add((&provision{
		Address: "email:alice@example.org", User: wire.UserID{1, 2},
		Vouch:       wire.Vouch{Device: 2, Signature: bytes.Repeat([]byte{7}, 64)},
		ProfileName: "Alice", ProfileAt: 1_700_000_000_000, History: []byte{1, 2, 3},
		CoopKey: bytes.Repeat([]byte{9}, 32), Voucher: voucher.Public(),
	}).marshal())
	f.Add((&provision{Address: "email:b@example.org", User: wire.UserID{9}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseProvision(b)
		if err != nil {
			return
		}
		again, err := parseProvision(p.marshal())
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("re-encoded provision: %+v %v, want %+v", again, err, p)
		}
	})
}

func FuzzParseVouch(f *testing.F) {
	f.Add(marshalVouch(&wire.Vouch{Device: 4, Signature: bytes.Repeat([]byte{1}, 64)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseVouch(b)
		if err != nil {
			return
		}
		if len(v.Signature) > wire.MaxSignature {
			t.Fatalf("accepted a signature of %d bytes", len(v.Signature))
		}
		again, err := parseVouch(marshalVouch(v))
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("re-encoded vouch: %+v %v, want %+v", again, err, v)
		}
	})
}

func FuzzParseBackupRecord(f *testing.F) {
	f.Add((&backupRecord{
		key: bytes.Repeat([]byte{4}, backupKeyLen), kdf: newBackupKDF(true), daily: true,
		last: time.UnixMilli(1_700_000_000_000), size: 1 << 20,
		tried: time.UnixMilli(1_700_000_100_000), err: "the relay refused it",
	}).marshal())
	f.Add((&backupRecord{}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseBackupRecord(b)
		if err != nil {
			return
		}
		again, err := parseBackupRecord(r.marshal())
		if err != nil || !reflect.DeepEqual(again.status(false), r.status(false)) || !bytes.Equal(again.key, r.key) {
			t.Fatalf("re-encoded backup record: %+v %v, want %+v", again, err, r)
		}
	})
}

func FuzzParseSealedBackup(f *testing.F) {
	key := bytes.Repeat([]byte{6}, backupKeyLen)
	for _, passphrase := range []bool{false, true} {
		sealed, err := sealBackup(key, newBackupKDF(passphrase), wire.UserID{1}, []byte("a history blob"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSealedBackup(b)
		if err != nil {
			return
		}
		if err := s.kdf.check(); err != nil {
			t.Fatalf("accepted a derivation it refuses: %v", err)
		}
		// Whatever it holds, it never opens under another key or user.
		if _, err := s.open(key, wire.UserID{2}); err == nil {
			t.Fatal("a sealed backup opened for another user")
		}
	})
}

func FuzzParseHistoryBlob(f *testing.F) {
	f.Add(HistoryBlob{Blob: wire.BlobID{1}, Key: [32]byte{2}, Digest: [32]byte{3}, Size: 4096}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHistoryBlob(b)
		if err != nil {
			return
		}
		again, err := ParseHistoryBlob(h.Marshal())
		if err != nil || again != h {
			t.Fatalf("re-encoded history blob: %+v %v, want %+v", again, err, h)
		}
	})
}

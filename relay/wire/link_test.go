package wire

import (
	"errors"
	"strings"
	"testing"
)

// linkVectorKeys are the inputs of the link code test vector: a 1,216-byte
// key of the bytes 0, 1, ..., 255 over and over, and a 33-byte identity
// key 02 01 02 ... 20.
func linkVectorKeys() (key, identity []byte) {
	for len(key) < 1216 {
		key = append(key, byte(len(key)))
	}
	identity = []byte{2}
	for i := 1; i <= 32; i++ {
		identity = append(identity, byte(i))
	}
	return key, identity
}

// The expected strings were computed apart from this package, with
// Python's standard library:
//
//	python3 -c "import hashlib,base64
//	key=bytes(range(256))*4+bytes(range(192)); ident=bytes([2])+bytes(range(1,33))
//	h=hashlib.sha256(b'Mutual link code v1\x00'+key+ident).digest()
//	print(base64.b32encode(h).decode().rstrip('=').translate(str.maketrans(
//	  'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567','0123456789ABCDEFGHJKMNPQRSTVWXYZ')))"
func TestLinkCodeVector(t *testing.T) {
	key, identity := linkVectorKeys()
	const hash = "CFZTVYXZZJ5PGAKQJBHP2591PG5GY90WD2N4F78CNAY5R9WWJ9AG"
	if got := LinkCode(key, identity); got != hash[:LinkCodeLen] {
		t.Errorf("LinkCode = %s, want %s", got, hash[:LinkCodeLen])
	}
	if got := LinkQR(key, identity); got != "mutual-link:"+hash {
		t.Errorf("LinkQR = %s", got)
	}
	if got := FormatLinkCode(LinkCode(key, identity)); got != "CFZT-VYXZ-ZJ5P" {
		t.Errorf("FormatLinkCode = %s", got)
	}
	// The label alone: no key, no identity.
	if got := LinkQR(nil, nil); got != "mutual-link:60JWSRCTSDWZD055M895ZWFDPXNTHXJX2W329JG8Z3W5G03V903G" {
		t.Errorf("LinkQR(nil, nil) = %s", got)
	}
}

func TestParseLinkCode(t *testing.T) {
	key, identity := linkVectorKeys()
	good := []struct{ in, want string }{
		{"CFZTVYXZZJ5P", "CFZTVYXZZJ5P"},
		{"CFZT-VYXZ-ZJ5P", "CFZTVYXZZJ5P"},
		{" cfzt vyxz zj5p\n", "CFZTVYXZZJ5P"},
		{"oOiI-lL01-2345", "001111012345"},
		{LinkQR(key, identity), "CFZTVYXZZJ5P"},
	}
	for _, tt := range good {
		got, err := ParseLinkCode(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLinkCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !ValidLinkCode(got) {
			t.Errorf("ValidLinkCode(%q) = false", got)
		}
	}
	for _, bad := range []string{
		"", "CFZTVYXZZJ5", "CFZTVYXZZJ5PQ", "CFZT-VYXZ-ZJ5U", // U is not in the alphabet
		"CFZTVYXZZJ5é", "mutual-link:CFZTVYXZZJ5P", "mutual-link:" + strings.Repeat("u", 52),
		strings.Repeat("A", 1000),
	} {
		if got, err := ParseLinkCode(bad); !errors.Is(err, ErrBadLinkCode) {
			t.Errorf("ParseLinkCode(%q) = %q, %v", bad, got, err)
		}
	}
}

func TestCheckLink(t *testing.T) {
	key, identity := linkVectorKeys()
	other := append([]byte(nil), key...)
	other[0] ^= 1
	for _, ok := range []string{"cfzt-vyxz-zj5p", "CFZTVYXZZJ5P", LinkQR(key, identity)} {
		if !CheckLink(ok, key, identity) {
			t.Errorf("CheckLink(%q) = false for the right keys", ok)
		}
		if CheckLink(ok, other, identity) || CheckLink(ok, key, identity[1:]) {
			t.Errorf("CheckLink(%q) = true for other keys", ok)
		}
	}
	// A QR text is checked whole: the right code with a wrong tail fails.
	qr := LinkQR(key, identity)
	tail := "0"
	if strings.HasSuffix(qr, "0") {
		tail = "1"
	}
	for _, bad := range []string{qr[:len(qr)-1] + tail, qr[:len(qr)-1], "", "nonsense"} {
		if CheckLink(bad, key, identity) {
			t.Errorf("CheckLink(%q) = true", bad)
		}
	}
}

func TestLinkFrameLimits(t *testing.T) {
	tests := []struct {
		name     string
		ok, over Body
	}{
		{"link key", &Link{Key: make([]byte, MaxLinkKey)}, &Link{Key: make([]byte, MaxLinkKey+1)}},
		{"link identity", &Link{Identity: make([]byte, MaxKey)}, &Link{Identity: make([]byte, MaxKey+1)}},
		{"link name", &Link{DeviceName: strings.Repeat("a", MaxDeviceName)}, &Link{DeviceName: strings.Repeat("a", MaxDeviceName+1)}},
		{"fetch code", &FetchLink{Code: strings.Repeat("A", LinkCodeLen)}, &FetchLink{Code: strings.Repeat("A", LinkCodeLen+1)}},
		{"link_device code", &LinkDevice{Code: strings.Repeat("A", LinkCodeLen)}, &LinkDevice{Code: strings.Repeat("A", LinkCodeLen+1)}},
		{"provision", &LinkDevice{Provision: make([]byte, MaxProvision)}, &LinkDevice{Provision: make([]byte, MaxProvision+1)}},
		{"verified provision", &Verified{Provision: make([]byte, MaxProvision)}, &Verified{Provision: make([]byte, MaxProvision+1)}},
		{"link_keys key", &LinkKeys{Key: make([]byte, MaxLinkKey)}, &LinkKeys{Key: make([]byte, MaxLinkKey+1)}},
		{"vouch", &PublishKeys{Vouch: &Vouch{Device: 1, Signature: make([]byte, MaxSignature)}}, &PublishKeys{Vouch: &Vouch{Signature: make([]byte, MaxSignature+1)}}},
		{"bundle vouch", &Bundles{Bundles: []Bundle{{Vouch: &Vouch{Signature: make([]byte, MaxSignature)}}}}, &Bundles{Bundles: []Bundle{{Vouch: &Vouch{Signature: make([]byte, MaxSignature+1)}}}}},
		{"backup sealed", &Backup{Op: BackupSet, Sealed: make([]byte, MaxBackupSealed)}, &Backup{Op: BackupSet, Sealed: make([]byte, MaxBackupSealed+1)}},
		{"backup op", &Backup{Op: BackupDelete}, &Backup{Op: BackupDelete + 1}},
		{"backup no op", &Backup{Op: BackupGet}, &Backup{}},
		{"backup_info sealed", &BackupInfo{Sealed: make([]byte, MaxBackupSealed)}, &BackupInfo{Sealed: make([]byte, MaxBackupSealed+1)}},
		{"push endpoint", &SetPush{Endpoint: strings.Repeat("a", MaxPushEndpoint)}, &SetPush{Endpoint: strings.Repeat("a", MaxPushEndpoint+1)}},
		{"push p256dh", &SetPush{P256dh: make([]byte, PushKeyLen)}, &SetPush{P256dh: make([]byte, PushKeyLen+1)}},
		{"push auth", &SetPush{Auth: make([]byte, PushAuthLen)}, &SetPush{Auth: make([]byte, PushAuthLen+1)}},
		{"push muted", &SetPush{Muted: make([]ConversationID, MaxMuted)}, &SetPush{Muted: make([]ConversationID, MaxMuted+1)}},
		{"welcome push key", &Welcome{PushKey: make([]byte, PushKeyLen)}, &Welcome{PushKey: make([]byte, PushKeyLen+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeFrame(Encode(Frame{ID: 1, Body: tt.ok})); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			if _, err := DecodeFrame(Encode(Frame{ID: 1, Body: tt.over})); !errors.Is(err, ErrMalformed) {
				t.Fatalf("over the limit: got %v", err)
			}
		})
	}
	// The biggest frames of a link still fit in a client frame.
	biggest := &Link{Key: make([]byte, MaxLinkKey), Identity: make([]byte, MaxKey), DeviceName: strings.Repeat("a", MaxDeviceName)}
	if n := len(Encode(Frame{ID: 1, Body: biggest})); n > MaxFrameSize {
		t.Errorf("a Link of %d bytes does not fit", n)
	}
	push := &SetPush{Endpoint: strings.Repeat("a", MaxPushEndpoint), P256dh: make([]byte, PushKeyLen), Auth: make([]byte, PushAuthLen), Muted: make([]ConversationID, MaxMuted)}
	if n := len(Encode(Frame{ID: 1, Body: push})); n > MaxFrameSize {
		t.Errorf("a SetPush of %d bytes does not fit", n)
	}
}

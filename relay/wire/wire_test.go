package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func sampleFrames() []Frame {
	u := UserID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	m := MessageID{0xaa, 1}
	c := ConversationID{0xcc, 2}
	pk := Prekey{ID: 7, Public: bytes.Repeat([]byte{5}, 33), Signature: bytes.Repeat([]byte{6}, 64)}
	kem := Prekey{ID: 8, Public: bytes.Repeat([]byte{8}, 1569), Signature: bytes.Repeat([]byte{9}, 64)}
	big := bytes.Repeat([]byte{0x42}, 300) // longer than a one-byte length
	return []Frame{
		{ID: 1, Body: &Register{Address: "email:alice@example.org"}},
		{ID: 2, Body: &Verify{Address: "email:alice@example.org", Code: "12345678", DeviceName: "Laptop", Token: bytes.Repeat([]byte{7}, 16)}},
		{ID: 3, Body: &Auth{User: u, Device: 2, Credential: bytes.Repeat([]byte{3}, 32), Client: "test/1"}},
		{ID: 4, Body: &PublishKeys{Identity: pk.Public, Signed: &pk, KEMLastResort: &kem, OneTime: []Prekey{pk, pk}, KEMOneTime: []Prekey{kem}}},
		{ID: 5, Body: &FetchBundles{User: u}},
		{ID: 6, Body: &Lookup{Address: "email:bob@example.org"}},
		{ID: 7, Body: &Send{MessageID: m, Conversation: c, Kind: KindMessage, Recipients: []Recipient{{User: u, Device: 1, Ciphertext: big}, {User: u, Device: 2, Ciphertext: []byte{1}}}}},
		{ID: 8, Body: &Ack{Offset: 1 << 40}},
		{ID: 9, Body: &SetContact{User: u, State: ContactBlocked}},
		{ID: 10, Body: &ListContacts{}},
		{ID: 11, Body: &ListDevices{}},
		{ID: 12, Body: &RemoveDevice{Device: 3}},
		{ID: 13, Body: &OK{}},
		{ID: 14, Body: &Error{Code: CodeRateLimited, Message: "slow down", RetryAfterMS: 30000}},
		{ID: 15, Body: &Verified{User: u, Device: 1, Credential: bytes.Repeat([]byte{4}, 32), Created: true}},
		{ID: 16, Body: &Welcome{User: u, Device: 1, ServerTimeMS: 1_700_000_000_000, OneTimeLeft: 3, KEMOneTimeLeft: 4}},
		{ID: 17, Body: &Bundles{User: u, Bundles: []Bundle{{Device: 1, Identity: pk.Public, Signed: pk, OneTime: &pk, KEM: kem}, {Device: 2, Identity: pk.Public, Signed: pk, KEM: kem, KEMLastResort: true}}}},
		{ID: 18, Body: &Found{User: u}},
		{ID: 19, Body: &Accepted{MessageID: m, ServerTimeMS: 5}},
		{ID: 20, Body: &Rejected{MessageID: m, Code: CodeStaleDevices, Message: "refresh devices", User: u, Devices: []DeviceID{1, 2, 300}}},
		{Body: &Deliver{Offset: 99, Envelope: Envelope{MessageID: m, Conversation: c, Sender: u, SenderDevice: 2, ServerTimeMS: 7, Kind: KindRequest, Ciphertext: big}}},
		{ID: 21, Body: &Contacts{Entries: []ContactEntry{{User: u, State: ContactAllowed, UpdatedMS: 9}}}},
		{ID: 22, Body: &Devices{Devices: []DeviceInfo{{ID: 1, Name: "Phone", CreatedMS: 1, LastSeenMS: 2}}}},
		{Body: &Notice{Kind: NoticeRetentionGap, Oldest: 1234}},
		{ID: 23, Body: &CodeSent{Token: bytes.Repeat([]byte{7}, 16)}},
		{ID: 24, Body: &Rejected{MessageID: m, Code: CodeRateLimited, Message: "over the daily quota", RetryAfterMS: 1500}},
		{ID: 25, Body: &Send{MessageID: m, Conversation: c, Kind: KindGroup, Recipients: []Recipient{{User: u, Device: 1}, {User: u, Device: 2, Ciphertext: []byte{9}}}, Shared: big}},
		{ID: 26, Body: &SetGroup{Group: c, Op: GroupCreate, Users: []UserID{u, {9}}, AdminHash: bytes.Repeat([]byte{1}, 32), AddHash: bytes.Repeat([]byte{2}, 32), LinkHash: bytes.Repeat([]byte{3}, 32)}},
		{ID: 27, Body: &SetGroup{Group: c, Op: GroupRemove, Users: []UserID{u}, Proof: bytes.Repeat([]byte{4}, 32)}},
		{Body: &Deliver{Offset: 100, Envelope: Envelope{MessageID: m, Conversation: c, Sender: u, SenderDevice: 1, ServerTimeMS: 8, Kind: KindGroup, Ciphertext: []byte{1}, Shared: big}}},
		{ID: 28, Body: &Upload{Size: 1 << 20}},
		{ID: 29, Body: &Upload{Size: 541 + 32, Blob: BlobID{0xbb, 3}}},
		{ID: 30, Body: &UploadGrant{Blob: BlobID{0xbb, 3}, Token: bytes.Repeat([]byte{0x5a}, MaxBlobToken), Size: 1 << 20, ExpiresMS: 1_700_003_600_000}},
		{ID: 31, Body: &Error{Code: CodeQuotaExceeded, Message: "upload quota for the day is used up", RetryAfterMS: 3_600_000}},
		{ID: 32, Body: &Coop{Op: CoopStatus}},
		{ID: 33, Body: &Coop{Op: CoopJoin, Provider: "stripe", Plan: "monthly"}},
		{ID: 34, Body: &Coop{Op: CoopSetCost, Month: "2026-12", Category: "infrastructure", Amount: 12_345, Note: "servers"}},
		{ID: 35, Body: &Coop{Op: CoopGrant, Address: "email:carol@example.org", Role: RoleOperator, Revoke: true}},
		{ID: 36, Body: &Coop{Op: CoopNotices, Off: true}},
		{ID: 37, Body: sampleCoopInfo()},
		{ID: 38, Body: &CoopCheckout{URL: "https://checkout.example.org/pay/cs_123"}},
		{ID: 39, Body: &Welcome{User: u, Device: 1, ServerTimeMS: 1_700_000_000_000, CoopKey: bytes.Repeat([]byte{0xc0}, CoopKeyLen)}},
		{Body: &Deliver{Offset: 101, Envelope: Envelope{MessageID: m, Conversation: CoopConversation, ServerTimeMS: 9, Kind: KindCoop, Shared: sampleSignedNotice(u)}}},
		{ID: 40, Body: &Link{Key: bytes.Repeat([]byte{0x11}, 1216), Identity: pk.Public, DeviceName: "Tablet"}},
		{ID: 40, Body: &LinkStarted{Code: "CFZTVYXZZJ5P", ExpiresMS: 1_700_000_600_000}},
		{ID: 41, Body: &FetchLink{Code: "CFZTVYXZZJ5P"}},
		{ID: 41, Body: &LinkKeys{Key: bytes.Repeat([]byte{0x11}, 1216), Identity: pk.Public, DeviceName: "Tablet", ExpiresMS: 1_700_000_600_000}},
		{ID: 42, Body: &LinkDevice{Code: "CFZTVYXZZJ5P", Provision: big}},
		{ID: 42, Body: &Linked{Device: 3}},
		{ID: 40, Body: &Verified{User: u, Device: 3, Credential: bytes.Repeat([]byte{4}, 32), Provision: big}},
		{ID: 43, Body: &ApproveDevice{Device: 4}},
		{ID: 44, Body: &Backup{Op: BackupGet}},
		{ID: 45, Body: &Backup{Op: BackupSet, Blob: BlobID{0xbb, 4}, Sealed: bytes.Repeat([]byte{0x5e}, 200)}},
		{ID: 46, Body: &Backup{Op: BackupDelete}},
		{ID: 44, Body: &BackupInfo{Blob: BlobID{0xbb, 4}, Sealed: bytes.Repeat([]byte{0x5e}, 200), CreatedMS: 1_700_000_000_000, Size: 5 << 20}},
		{ID: 47, Body: &SetPush{Endpoint: "https://fcm.googleapis.com/fcm/send/abc", P256dh: bytes.Repeat([]byte{4}, PushKeyLen), Auth: bytes.Repeat([]byte{0xa0}, PushAuthLen), Muted: []ConversationID{c, {0xcc, 3}}}},
		{ID: 48, Body: &SetPush{}},
		{ID: 49, Body: &Verified{User: u, Device: 4, Credential: bytes.Repeat([]byte{4}, 32), PendingUntilMS: 1_700_604_800_000}},
		{ID: 50, Body: &Welcome{User: u, Device: 4, ServerTimeMS: 1_700_000_000_000, PendingUntilMS: 1_700_604_800_000, PushKey: bytes.Repeat([]byte{4}, PushKeyLen)}},
		{ID: 51, Body: &PublishKeys{Identity: pk.Public, Signed: &pk, KEMLastResort: &kem, Vouch: &Vouch{Device: 1, Signature: bytes.Repeat([]byte{0x76}, 64)}}},
		{ID: 52, Body: &Bundles{User: u, Bundles: []Bundle{{Device: 3, Identity: pk.Public, Signed: pk, KEM: kem, Vouch: &Vouch{Device: 1, Signature: bytes.Repeat([]byte{0x76}, 64)}}}}},
		{ID: 53, Body: &Devices{Devices: []DeviceInfo{{ID: 1, Name: "Phone", CreatedMS: 1, LastSeenMS: 2}, {ID: 3, Name: "Tablet", CreatedMS: 3, Linked: true}, {ID: 4, Name: "Laptop", CreatedMS: 4, PendingUntilMS: 1_700_604_800_000}}}},
		{ID: 54, Body: &Send{MessageID: m, Conversation: c, Kind: KindMessage, Recipients: []Recipient{{User: u, Device: 1, Ciphertext: []byte{1}}}, Silent: true}},
		{Body: &Notice{Kind: NoticeDevicePending, Device: 4}},
		{ID: 55, Body: &Error{Code: CodeDevicePending, Message: "this device waits for approval"}},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range sampleFrames() {
		t.Run(f.Body.Type().String(), func(t *testing.T) {
			b := Encode(f)
			got, err := DecodeFrame(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got.Body, f.Body)
			}
			if again := Encode(got); !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs")
			}
		})
	}
}

func TestEveryTypeHasABody(t *testing.T) {
	for typ, name := range typeNames {
		b := newBody(typ)
		if b == nil || b.Type() != typ {
			t.Errorf("%s: newBody gives %v", name, b)
		}
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	withBody := func(n protowire.Number, body []byte) []byte {
		b := protowire.AppendTag(nil, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 5)
		b = protowire.AppendTag(b, n, protowire.BytesType)
		return protowire.AppendBytes(b, body)
	}
	field := func(n protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), v)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"id only", []byte{0x08, 0x01}, ErrMalformed},
		{"truncated tag", []byte{0x80}, ErrMalformed},
		{"truncated length", []byte{0x52, 0x05, 0x01}, ErrMalformed},
		{"unknown type", withBody(33, nil), ErrUnknownFrame},
		{"two bodies", append(withBody(10, nil), withBody(13, nil)...), ErrMalformed},
		{"body as varint", []byte{0x50, 0x01}, ErrMalformed},
		{"short user id", withBody(14, field(1, []byte{1, 2, 3})), ErrMalformed},
		{"long address", withBody(10, field(1, bytes.Repeat([]byte{'a'}, MaxAddress+1))), ErrMalformed},
		{"long verify token", withBody(11, field(4, make([]byte, MaxCodeToken+1))), ErrMalformed},
		{"long code_sent token", withBody(52, field(1, make([]byte, MaxCodeToken+1))), ErrMalformed},
		{"bad utf-8", withBody(10, field(1, []byte{0xff, 0xfe})), ErrMalformed},
		{"huge ciphertext", withBody(16, field(4, field(3, make([]byte, MaxCiphertext+1)))), ErrMalformed},
		{"device over uint32", withBody(21, protowire.AppendVarint([]byte{0x08}, 1<<33)), ErrMalformed},
		{"user id as fixed64", withBody(14, protowire.AppendFixed64([]byte{0x09}, 1)), ErrMalformed},
		{"packed device cut short", withBody(47, field(5, []byte{0x80})), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFrame(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// The decoder bounds a Send by the group limit, the larger; the relay
// refuses more than MaxRecipients for the other kinds.
func TestRecipientLimit(t *testing.T) {
	s := &Send{Kind: KindGroup, Recipients: make([]Recipient, MaxGroupRecipients+1)}
	if _, err := DecodeFrame(Encode(Frame{Body: s})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("%d recipients: got %v", len(s.Recipients), err)
	}
	s.Recipients = s.Recipients[:MaxGroupRecipients]
	if _, err := DecodeFrame(Encode(Frame{Body: s})); err != nil {
		t.Fatalf("%d recipients: %v", len(s.Recipients), err)
	}
}

func TestGroupUserLimit(t *testing.T) {
	s := &SetGroup{Op: GroupAdd, Users: make([]UserID, MaxGroupMembers+1)}
	if _, err := DecodeFrame(Encode(Frame{Body: s})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("%d users: got %v", len(s.Users), err)
	}
	s.Users = s.Users[:MaxGroupMembers]
	if _, err := DecodeFrame(Encode(Frame{Body: s})); err != nil {
		t.Fatalf("%d users: %v", len(s.Users), err)
	}
	if len(Encode(Frame{Body: &Send{Kind: KindGroup, Recipients: make([]Recipient, MaxGroupRecipients)}})) > MaxFrameSize {
		t.Fatal("a Send to the most devices of a group does not fit in a frame")
	}
}

func TestUnknownFieldsAreIgnored(t *testing.T) {
	// A newer peer may add fields; an older one skips them.
	b := Encode(Frame{ID: 1, Body: &Lookup{Address: "email:a@b.c"}})
	extra := protowire.AppendTag(nil, 99, protowire.Fixed64Type)
	extra = protowire.AppendFixed64(extra, 7)
	b = append(b, extra...)
	f, err := DecodeFrame(b)
	if err != nil || f.Body.(*Lookup).Address != "email:a@b.c" {
		t.Fatalf("got %v, %v", f, err)
	}
}

func TestPackedAndUnpackedDevices(t *testing.T) {
	r := &Rejected{Code: CodeStaleDevices, Devices: []DeviceID{1, 2}}
	unpacked := protowire.AppendTag(nil, 2, protowire.VarintType)
	unpacked = protowire.AppendVarint(unpacked, uint64(CodeStaleDevices))
	for _, d := range r.Devices {
		unpacked = protowire.AppendTag(unpacked, 5, protowire.VarintType)
		unpacked = protowire.AppendVarint(unpacked, uint64(d))
	}
	var got Rejected
	if err := got.decode(unpacked); err != nil || !reflect.DeepEqual(got.Devices, r.Devices) {
		t.Fatalf("unpacked: %v %v", got.Devices, err)
	}
}

func TestUserIDText(t *testing.T) {
	u := NewUserID()
	got, err := ParseUserID(u.String())
	if err != nil || got != u {
		t.Fatalf("parse(%s) = %v, %v", u, got, err)
	}
	for _, bad := range []string{"", "zz", u.String()[:30] + "zz", u.String() + "00"} {
		if _, err := ParseUserID(bad); err == nil {
			t.Errorf("ParseUserID(%q) accepted", bad)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range sampleFrames() {
		f.Add(Encode(fr))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			return
		}
		// What decodes must re-encode to something that decodes the same.
		again, err := DecodeFrame(Encode(fr))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normal(again), normal(fr)) {
			t.Fatalf("unstable: %#v vs %#v", again.Body, fr.Body)
		}
	})
}

// normal maps empty slices to nil, since proto3 does not distinguish them.
func normal(f Frame) Frame {
	b := Encode(f)
	g, _ := DecodeFrame(b)
	return g
}

func BenchmarkEncodeSend(b *testing.B) {
	f := Frame{ID: 1, Body: &Send{Kind: KindMessage, Recipients: []Recipient{{Device: 1, Ciphertext: make([]byte, 1024)}, {Device: 2, Ciphertext: make([]byte, 1024)}}}}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrame(buf[:0], f)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeSend(b *testing.B) {
	buf := Encode(Frame{ID: 1, Body: &Send{Kind: KindMessage, Recipients: []Recipient{{Device: 1, Ciphertext: make([]byte, 1024)}, {Device: 2, Ciphertext: make([]byte, 1024)}}}})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDeliver(b *testing.B) {
	buf := Encode(Frame{Body: &Deliver{Offset: 5, Envelope: Envelope{Kind: KindMessage, Ciphertext: make([]byte, 1024)}}})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(buf); err != nil {
			b.Fatal(err)
		}
	}
}

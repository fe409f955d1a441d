package bus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/mutualcoop/mutual/relay/wire"
)

func TestParcelRoundTripAndEnvelopeFor(t *testing.T) {
	u := wire.NewUserID()
	p := &Parcel{
		MessageID: wire.NewMessageID(), Sender: wire.NewUserID(), SenderDevice: 3, ServerTimeMS: 10, Kind: wire.KindMessage, Silent: true,
		Recipients: []wire.Recipient{{User: u, Device: 1, Ciphertext: []byte("one")}, {User: u, Device: 2, Ciphertext: []byte("two")}},
	}
	got, err := DecodeParcel(AppendParcel(nil, p))
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip: %v %#v", err, got)
	}
	env, ok := got.EnvelopeFor(2)
	if !ok || string(env.Ciphertext) != "two" || env.Sender != p.Sender {
		t.Fatalf("EnvelopeFor(2) = %+v, %v", env, ok)
	}
	if _, ok := got.EnvelopeFor(9); ok {
		t.Fatal("EnvelopeFor(9): a device with no ciphertext got an envelope")
	}
	group := &Parcel{
		MessageID: wire.NewMessageID(), Conversation: wire.ConversationID{7}, Sender: wire.NewUserID(), SenderDevice: 1, Kind: wire.KindGroup,
		Recipients: []wire.Recipient{{User: u, Device: 1}, {User: u, Device: 2, Ciphertext: []byte("a sender key")}},
		Shared:     []byte("for every device"),
	}
	if got, err = DecodeParcel(AppendParcel(nil, group)); err != nil || !reflect.DeepEqual(got, group) {
		t.Fatalf("group round trip: %v %#v", err, got)
	}
	for _, tt := range []struct {
		device wire.DeviceID
		own    string
	}{{1, ""}, {2, "a sender key"}} {
		env, ok := got.EnvelopeFor(tt.device)
		if !ok || string(env.Shared) != "for every device" || string(env.Ciphertext) != tt.own || env.Kind != wire.KindGroup || env.Conversation != group.Conversation {
			t.Fatalf("group EnvelopeFor(%d) = %+v, %v", tt.device, env, ok)
		}
	}
	if _, ok := got.EnvelopeFor(3); ok {
		t.Fatal("group EnvelopeFor(3): a device the parcel does not name got the shared ciphertext")
	}
	rej := &Parcel{Kind: wire.KindRejected, MessageID: p.MessageID, Code: wire.CodeNotAccepted, Subject: u}
	if env, ok := rej.EnvelopeFor(5); !ok || env.Subject != u || env.Code != wire.CodeNotAccepted {
		t.Fatalf("rejected notice: %+v %v", env, ok)
	}
}

// TestParcelEncoding: parcels stay on the bus across relay versions, so
// their bytes are pinned (written by the relay before parcels moved here).
func TestParcelEncoding(t *testing.T) {
	u := wire.UserID{0xee, 1}
	tests := []struct {
		name string
		p    *Parcel
		hex  string
	}{
		{"request", &Parcel{
			MessageID: wire.MessageID{0xaa, 1}, Conversation: wire.ConversationID{0xcc, 2}, Sender: wire.UserID{0x55, 3},
			SenderDevice: 3, ServerTimeMS: 1_700_000_000_000, Kind: wire.KindRequest,
			Recipients: []wire.Recipient{{User: u, Device: 1, Ciphertext: []byte("one")}, {User: u, Device: 2, Ciphertext: make([]byte, 200)}},
		}, "0a10aa0100000000000000000000000000001210cc0200000000000000000000000000001a105503000000000000000000000000000020032880a0abfef96230023a190a10ee01000000000000000000000000000010011a036f6e653adf010a10ee01000000000000000000000000000010021ac8010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
		{"group", &Parcel{
			MessageID: wire.MessageID{0xaa, 1}, Conversation: wire.ConversationID{0xcc, 2}, Sender: wire.UserID{0x55, 3},
			SenderDevice: 3, ServerTimeMS: 1_700_000_000_000, Kind: wire.KindGroup,
			Recipients: []wire.Recipient{{User: u, Device: 1}, {User: u, Device: 2, Ciphertext: []byte("two")}},
			Shared:     []byte("shared"),
		}, "0a10aa0100000000000000000000000000001210cc0200000000000000000000000000001a105503000000000000000000000000000020032880a0abfef96230043a140a10ee01000000000000000000000000000010013a190a10ee01000000000000000000000000000010021a0374776f5206736861726564"},
		{"rejected", &Parcel{
			Kind: wire.KindRejected, MessageID: wire.MessageID{0xaa, 1}, Sender: wire.UserID{0x55, 3}, SenderDevice: 3,
			ServerTimeMS: -5, Code: wire.CodeNotAccepted, Subject: u,
		}, "0a10aa0100000000000000000000000000001210000000000000000000000000000000001a1055030000000000000000000000000000200328093003400d4a10ee010000000000000000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendParcel(nil, tt.p)
			if got := hex.EncodeToString(b); got != tt.hex {
				t.Fatalf("encodes to\n%s\nwant\n%s", got, tt.hex)
			}
			got, err := DecodeParcel(b)
			if err != nil || !reflect.DeepEqual(got, tt.p) {
				t.Fatalf("reads as %+v, %v", got, err)
			}
		})
	}
}

func TestDecodeParcelErrors(t *testing.T) {
	many := &Parcel{Kind: wire.KindGroup, Recipients: make([]wire.Recipient, wire.MaxGroupRecipients+1)}
	tests := []struct {
		name string
		in   []byte
	}{
		{"truncated", AppendParcel(nil, &Parcel{MessageID: wire.MessageID{1}})[:5]},
		{"short message id", []byte{0x0a, 0x01, 0x01}},
		{"recipients as varint", []byte{0x38, 0x01}},
		{"too many recipients", AppendParcel(nil, many)},
		{"huge ciphertext", AppendParcel(nil, &Parcel{Recipients: []wire.Recipient{{Ciphertext: make([]byte, wire.MaxCiphertext+1)}}})},
		{"huge shared ciphertext", AppendParcel(nil, &Parcel{Kind: wire.KindGroup, Shared: make([]byte, wire.MaxCiphertext+1)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeParcel(tt.in); !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("got %v", err)
			}
		})
	}
	many.Recipients = many.Recipients[:wire.MaxGroupRecipients]
	if _, err := DecodeParcel(AppendParcel(nil, many)); err != nil {
		t.Fatalf("%d recipients: %v", len(many.Recipients), err)
	}
}

func FuzzDecodeParcel(f *testing.F) {
	f.Add(AppendParcel(nil, &Parcel{Kind: wire.KindMessage, Recipients: []wire.Recipient{{Device: 1, Ciphertext: []byte("x")}}}))
	f.Add(AppendParcel(nil, &Parcel{Kind: wire.KindRejected, Code: wire.CodeNotAccepted, Subject: wire.UserID{1}}))
	f.Add(AppendParcel(nil, &Parcel{Kind: wire.KindGroup, Recipients: []wire.Recipient{{Device: 1}}, Shared: []byte("s")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeParcel(b)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v does not wrap wire.ErrMalformed", err)
			}
			return
		}
		again, err := DecodeParcel(AppendParcel(nil, p))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !bytes.Equal(AppendParcel(nil, again), AppendParcel(nil, p)) {
			t.Fatal("unstable encoding")
		}
	})
}

package client

import (
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/mutualcoop/mutual/relay/wire"
)

// TestStoredFormats: the records of codec_test.go's samples encode to
// exactly the bytes this package has always written, and those bytes read
// back as the samples. Devices hold records in this form: a change here is
// a format change, and needs a new format version and a migration.
func TestStoredFormats(t *testing.T) {
	self := wire.UserID{1}
	tests := []struct {
		name  string
		write func() []byte
		read  func(b []byte) (any, error)
		want  any
		hex   string
	}{
		{"content", sampleContent().marshal, func(b []byte) (any, error) { return parseContent(b) }, sampleContent(),
			"78010801120668c3a96c6c6f18f6a1abfef9622210090000000000000000000000000000002210080700000000000000000000000000002a1001020300000000000000000000000000"},
		{"profile", sampleProfile().marshal, func(b []byte) (any, error) { return parseContent(b) }, sampleProfile(),
			"780108041890a7abfef9622a100102030000000000000000000000000032095a6fc3ab20f09f8cb1"},
		{"chat", sampleChat().marshal, func(b []byte) (any, error) { return parseChat(b, self) }, sampleChat(),
			"78010a1007000000000000000000000000000000126a78010a10070000000000000000000000000000001215656d61696c3a626f62406578616d706c652e6f72671a03426f62200128013001388080f4f6905d4206526f626572744880d0cfba856050c0bab7fef9625a15656d61696c3a626f62406578616d706c652e6f72671809225278010a100100000000000000000000000000000012100bf9ebdafa54c3f2ae225a37a94e29981a100700000000000000000000000000000020012804320268693880a0abfef96240e8a7abfef9624805500d2803"},
		{"outbox", sampleOutbox().marshal, func(b []byte) (any, error) { return parseOutbox(b) }, sampleOutbox(),
			"78010a10010000000000000000000000000000001210020000000000000000000000000000001a100300000000000000000000000000000020012a067061646465643001380242190a100300000000000000000000000000000010021a0303010242170a100400000000000000000000000000000010011a0102"},
		{"message", sampleMessage().marshal, func(b []byte) (any, error) { return parseMessage(b) }, sampleMessage(),
			"78010a10010000000000000000000000000000001210020000000000000000000000000000001a100300000000000000000000000000000020012804320268693880a0abfef96240e8a7abfef9624805500d"},
		{"contact", sampleContact().marshal, func(b []byte) (any, error) { return parseContact(b, self) }, sampleContact(),
			"78010a10070000000000000000000000000000001215656d61696c3a626f62406578616d706c652e6f72671a03426f62200128013001388080f4f6905d4206526f626572744880d0cfba856050c0bab7fef9625a15656d61696c3a626f62406578616d706c652e6f7267"},
		// Written before addresses were confirmed (no field 11): the
		// address typed in AddContact reads as the verified one.
		{"contact without a verified address", legacyContact().marshal, func(b []byte) (any, error) { return parseContact(b, self) }, sampleContact(),
			"78010a10070000000000000000000000000000001215656d61696c3a626f62406578616d706c652e6f72671a03426f62200128013001388080f4f6905d4206526f626572744880d0cfba856050c0bab7fef962"},
		{"account", sampleAccount().marshal, func(b []byte) (any, error) { return parseAccount(b) }, sampleAccount(),
			"78010a100100000000000000000000000000000010031a2005050505050505050505050505050505050505050505050505050505050505052213656d61696c3a61406578616d706c652e6f72672a0570686f6e6530653866400248015001580160017007820105416c696365880182a0abfef962900101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hex.EncodeToString(tt.write()); got != tt.hex {
				t.Errorf("encodes to\n%s\nwant\n%s", got, tt.hex)
			}
			b, _ := hex.DecodeString(tt.hex)
			got, err := tt.read(b)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reads as %+v, %v", got, err)
			}
		})
	}
}

// TestStoredTextNeedNotBeUTF8: a stored record reads back whatever bytes
// its text holds; only content from a peer is checked for UTF-8.
func TestStoredTextNeedNotBeUTF8(t *testing.T) {
	want := sampleMessage()
	want.Text = "caf\xe9"
	got, err := parseMessage(want.marshal())
	if err != nil || got.Text != want.Text {
		t.Fatalf("got %q, %v", got.Text, err)
	}
}

// legacyContact is sampleContact as written before addresses were
// confirmed.
func legacyContact() *Contact {
	ct := sampleContact()
	ct.VerifiedAddress = ""
	return ct
}

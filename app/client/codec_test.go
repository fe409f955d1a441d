package client

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/relay/wire"
)

func sampleContent() *content {
	return &content{Kind: kindText, Text: "héllo", SentAt: 1_700_000_000_123, Peer: wire.UserID{1, 2, 3},
		Refs: []wire.MessageID{{9}, {8, 7}}}
}

func sampleOutbox() *outboxEntry {
	return &outboxEntry{
		MessageID: wire.MessageID{1}, Conversation: wire.ConversationID{2}, Peer: wire.UserID{3},
		ContentKind: kindText, Padded: []byte("padded"), Encrypted: true, Kind: wire.KindRequest,
		Recipients: []wire.Recipient{{User: wire.UserID{3}, Device: 2, Ciphertext: []byte{3, 1, 2}}, {User: wire.UserID{4}, Device: 1, Ciphertext: []byte{2}}},
	}
}

func sampleMessage() *Message {
	return &Message{
		ID: wire.MessageID{1}, Conversation: wire.ConversationID{2}, Peer: wire.UserID{3}, Outgoing: true,
		SenderDevice: 4, Text: "hi", SentAt: time.UnixMilli(1_700_000_000_000), ServerTime: time.UnixMilli(1_700_000_000_500),
		State: StateFailed, Failure: wire.CodeNotAccepted,
	}
}

func sampleContact() *Contact {
	u := wire.UserID{7}
	return &Contact{User: u, Address: "email:bob@example.org", VerifiedAddress: "email:bob@example.org", Nickname: "Bob", ProfileName: "Robert", State: ContactAllowed,
		Accepted: true, IdentityChanged: true, Added: time.UnixMilli(1_600_000_000_000), Conversation: DirectConversation(wire.UserID{1}, u),
		RequestSent: time.UnixMilli(1_700_000_100_000), profileAt: 1_650_000_000_000}
}

func sampleChat() *chatRecord {
	ct := sampleContact()
	last := sampleMessage()
	last.Conversation, last.Peer, last.Seq = ct.Conversation, ct.User, 9
	return &chatRecord{User: ct.User, Contact: ct, LastSeq: 9, Last: last, Unread: 3}
}

func sampleProfile() *content {
	return &content{Kind: kindProfile, Name: "Zoë 🌱", SentAt: 1_700_000_000_456, Peer: wire.UserID{1, 2, 3}}
}

func sampleAccount() *accountRecord {
	return &accountRecord{User: wire.UserID{1}, Device: 3, Credential: bytes.Repeat([]byte{5}, 32), Address: "email:a@example.org",
		DeviceName: "phone", NextPreKeyID: 101, NextKEMID: 102, NextSignedID: 2, SignedID: 1, LastResortID: 1,
		Published: true, ReadReceiptsOff: true, OutboxSeq: 7, ProfileName: "Alice", ProfileAt: 1_700_000_000_001, Layout: currentLayout}
}

func sampleIdentity(t testing.TB) *identityRecord {
	k, err := keys.NewPublicKey(append([]byte{5}, bytes.Repeat([]byte{9}, 32)...))
	if err != nil {
		t.Fatal(err)
	}
	return &identityRecord{Key: k, Status: identityUnverified, FirstSeen: 1234}
}

// TestRoundTrips: every record reads back as written.
func TestRoundTrips(t *testing.T) {
	t.Run("content", func(t *testing.T) {
		want := sampleContent()
		sealed, err := sealContent(want)
		if err != nil || len(sealed) != 256 {
			t.Fatalf("sealed to %d bytes: %v", len(sealed), err)
		}
		got, err := openContent(sealed)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("profile", func(t *testing.T) {
		want := sampleProfile()
		got, err := openContent(mustSeal(t, want))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("chat", func(t *testing.T) {
		want := sampleChat()
		got, err := parseChat(want.marshal(), wire.UserID{1})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
		removed := &chatRecord{User: want.User, LastSeq: 1}
		got, err = parseChat(removed.marshal(), wire.UserID{1})
		if err != nil || !reflect.DeepEqual(got, removed) {
			t.Fatalf("without contact or message: got %+v, %v", got, err)
		}
	})
	t.Run("outbox", func(t *testing.T) {
		want := sampleOutbox()
		got, err := parseOutbox(want.marshal())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("message", func(t *testing.T) {
		want := sampleMessage()
		got, err := parseMessage(want.marshal())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("contact", func(t *testing.T) {
		want := sampleContact()
		got, err := parseContact(want.marshal(), wire.UserID{1})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("account", func(t *testing.T) {
		want := sampleAccount()
		got, err := parseAccount(want.marshal())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
		// Written since the stored formats were fixed; absent, it is 0.
		want.RefilledAt = 1_700_000_000_002
		got, err = parseAccount(want.marshal())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("with the refill time: got %+v, %v", got, err)
		}
	})
	t.Run("identity", func(t *testing.T) {
		want := sampleIdentity(t)
		got, err := parseIdentity(want.marshal())
		if err != nil || !got.Key.Equal(want.Key) || got.Status != want.Status || got.FirstSeen != want.FirstSeen {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}

func mustSeal(t testing.TB, c *content) []byte {
	t.Helper()
	b, err := sealContent(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFormatVersion: records without a version or of another version are
// refused with a clear error.
func TestFormatVersion(t *testing.T) {
	body := sampleContent().marshal()
	noVersion := body[2:] // the version is the first field (2 bytes)
	if _, err := parseContent(noVersion); !errors.Is(err, errMalformed) {
		t.Fatalf("no version: %v", err)
	}
	v2 := append([]byte{0x78, 2}, noVersion...)
	_, err := parseContent(v2)
	if !errors.Is(err, errVersion) || !strings.Contains(err.Error(), "2 (this build reads 1)") {
		t.Fatalf("version 2: %v", err)
	}
}

func TestContentLimits(t *testing.T) {
	tooLong := &content{Kind: kindText, Text: strings.Repeat("x", MaxText+1)}
	if _, err := parseContent(tooLong.marshal()); !errors.Is(err, errMalformed) {
		t.Fatalf("long text: %v", err)
	}
	bad := &content{Kind: kindText, Text: "\xff"}
	if _, err := parseContent(bad.marshal()); !errors.Is(err, errMalformed) {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	refs := &content{Kind: kindRead, Refs: make([]wire.MessageID, maxReceiptRefs+1)}
	if _, err := parseContent(refs.marshal()); !errors.Is(err, errMalformed) {
		t.Fatalf("too many refs: %v", err)
	}
	for _, name := range []string{
		strings.Repeat("x", MaxProfileName+1), "\xff", "a\nb", "a\x00b", "\u202eevil", "a\u2028b", "a\u0085b",
	} {
		p := &content{Kind: kindProfile, Name: name}
		if _, err := parseContent(p.marshal()); !errors.Is(err, errMalformed) {
			t.Fatalf("profile name %q: %v", name, err)
		}
	}
	if _, err := parseContent((&content{Kind: kindProfile, Name: strings.Repeat("é", MaxProfileName/2)}).marshal()); err != nil {
		t.Fatalf("longest profile name: %v", err)
	}
	// The longest text pads to 8 KiB.
	long, err := sealContent(&content{Kind: kindText, Text: strings.Repeat("x", MaxText), SentAt: -1, Peer: wire.UserID{1}})
	if err != nil || len(long) != 8192 {
		t.Fatalf("longest text: %d bytes, %v", len(long), err)
	}
	if _, err := openContent(long[:4096]); err == nil {
		t.Fatal("truncated padding accepted")
	}
}

func TestDirectConversation(t *testing.T) {
	a, b, c := wire.NewUserID(), wire.NewUserID(), wire.NewUserID()
	if DirectConversation(a, b) != DirectConversation(b, a) {
		t.Fatal("not symmetric")
	}
	if DirectConversation(a, b) == DirectConversation(a, c) {
		t.Fatal("two conversations share an ID")
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{cfg: Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		want *= time.Millisecond
		for range 20 {
			if d := c.backoff(n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := c.backoff(1 << 20); d > time.Second {
		t.Fatalf("huge n: %v", d)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{ServerURL: "ws://127.0.0.1:8080/v1/ws"}, true},
		{"tls", Config{ServerURL: "wss://relay.example.org/v1/ws", ClientName: "mutual-cli/1"}, true},
		{"no url", Config{}, false},
		{"http", Config{ServerURL: "http://relay.example.org/v1/ws"}, false},
		{"bad url", Config{ServerURL: "ws://[::1"}, false},
		{"long name", Config{ServerURL: "ws://x/v1/ws", ClientName: strings.Repeat("x", 65)}, false},
		{"negative", Config{ServerURL: "ws://x/v1/ws", DialTimeout: -1}, false},
		{"inverted backoff", Config{ServerURL: "ws://x/v1/ws", MinBackoff: time.Minute, MaxBackoff: time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

// The fuzz targets check that no input makes a decoder panic or accept
// more than its limits, and that what decodes re-encodes to something
// that decodes the same.

func FuzzParseContent(f *testing.F) {
	f.Add(sampleContent().marshal())
	f.Add((&content{Kind: kindRead, Refs: []wire.MessageID{{1}}}).marshal())
	f.Add([]byte{0x78, 1, 0x0a, 0x01})
	f.Add(sampleProfile().marshal())
	f.Add((&content{Kind: kindProfile, SentAt: -5}).marshal())
	f.Add([]byte{0x78, 1, 0x08, 0x04, 0x32, 0x03, 'a', 0x0a, 'b'})
	f.Add((&content{Kind: kindText, Attachments: []Attachment{samplePointer()}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseContent(b)
		if err != nil {
			return
		}
		if len(m.Text) > MaxText || len(m.Refs) > maxReceiptRefs {
			t.Fatalf("over the limits: %d bytes, %d refs", len(m.Text), len(m.Refs))
		}
		if err := checkProfileName(m.Name); err != nil {
			t.Fatalf("accepted the profile name %q: %v", m.Name, err)
		}
		again, err := parseContent(m.marshal())
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, m)
		}
	})
}

func FuzzOpenContent(f *testing.F) {
	sealed, _ := sealContent(sampleContent())
	f.Add(sealed)
	f.Add(make([]byte, 256))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = openContent(b)
	})
}

func FuzzParseOutbox(f *testing.F) {
	f.Add(sampleOutbox().marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseOutbox(b)
		if err != nil {
			return
		}
		if len(e.Recipients) > wire.MaxGroupRecipients {
			t.Fatalf("%d recipients", len(e.Recipients))
		}
		if _, err := parseOutbox(e.marshal()); err != nil {
			t.Fatalf("re-encoded entry: %v", err)
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	f.Add(sampleMessage().marshal())
	withFiles := sampleMessage()
	withFiles.Attachments = []Attachment{samplePointer()}
	f.Add(withFiles.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			return
		}
		if _, err := parseMessage(m.marshal()); err != nil {
			t.Fatalf("re-encoded message: %v", err)
		}
	})
}

func FuzzParseContact(f *testing.F) {
	f.Add(sampleContact().marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseContact(b, wire.UserID{1})
		if err != nil {
			return
		}
		if _, err := parseContact(c.marshal(), wire.UserID{1}); err != nil {
			t.Fatalf("re-encoded contact: %v", err)
		}
	})
}

func FuzzParseChat(f *testing.F) {
	f.Add(sampleChat().marshal())
	f.Add((&chatRecord{User: wire.UserID{7}, LastSeq: 1}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseChat(b, wire.UserID{1})
		if err != nil {
			return
		}
		if r.Unread < 0 || (r.Contact != nil && r.Contact.User != r.User) {
			t.Fatalf("accepted %+v", r)
		}
		again, err := parseChat(r.marshal(), wire.UserID{1})
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, r)
		}
	})
}

func FuzzParseAccount(f *testing.F) {
	f.Add(sampleAccount().marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseAccount(b)
		if err != nil {
			return
		}
		if _, err := parseAccount(a.marshal()); err != nil {
			t.Fatalf("re-encoded account: %v", err)
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	f.Add(sampleIdentity(f).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseIdentity(b)
		if err != nil {
			return
		}
		if _, err := parseIdentity(r.marshal()); err != nil {
			t.Fatalf("re-encoded identity: %v", err)
		}
	})
}

func FuzzParseCiphertext(f *testing.F) {
	f.Add([]byte{2, 0x43, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ct, err := parseCiphertext(b)
		if err != nil {
			return
		}
		if !bytes.Equal(appendCiphertext(nil, ct), b) {
			t.Fatal("ciphertext does not re-encode to its input")
		}
	})
}

func TestContactName(t *testing.T) {
	u := wire.UserID{0xab, 0xcd, 0xef, 0x01, 0x23}
	for _, tc := range []struct {
		name string
		ct   Contact
		want string
	}{
		{"nickname first", Contact{User: u, Nickname: "Bobby", ProfileName: "Robert", Address: "email:bob@example.org"}, "Bobby"},
		{"then the profile name", Contact{User: u, ProfileName: "Robert", Address: "email:bob@example.org"}, "Robert"},
		{"then the address", Contact{User: u, Address: "email:bob@example.org"}, "email:bob@example.org"},
		{"then the user ID", Contact{User: u}, "abcdef01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ct.Name(); got != tc.want {
				t.Fatalf("Name() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckProfileName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"", true},
		{"Alice", true},
		{"Zoë 🌱 d'Arc", true},
		{strings.Repeat("x", MaxProfileName), true},
		{strings.Repeat("x", MaxProfileName+1), false},
		{"\xffAlice", false},
		{"Al\nice", false},
		{"Al\tice", false},
		{"Al\x7fice", false},
		{"\u202eecilA", false}, // right-to-left override
		{"Al\u2066ice", false}, // left-to-right isolate
		{"Al\u2029ice", false}, // paragraph separator
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkProfileName(tc.name)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadProfileName)) {
				t.Fatalf("checkProfileName(%q) = %v", tc.name, err)
			}
		})
	}
}

package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

// samplePointer is a received attachment as parsePointer returns it.
func samplePointer() Attachment {
	return Attachment{
		Name: "photo.jpg", Type: "image/jpeg", Size: 123_456, Width: 640, Height: 480,
		Duration: 1500 * time.Millisecond, Thumbnail: []byte{0xff, 0xd8, 1}, Waveform: []byte{0, 128, 255},
		Transfer: TransferRemote,
		blob:     wire.BlobID{1, 2, 3}, key: bytes.Repeat([]byte{7}, 32), digest: bytes.Repeat([]byte{9}, 32),
	}
}

// TestAttachmentPointers: content field 18 reads back as written; an
// attachment with a bad field is dropped and the rest of the message
// kept; records keep this device's own fields.
func TestAttachmentPointers(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		voice := samplePointer()
		voice.Name, voice.Type, voice.Voice, voice.Thumbnail = "", "audio/ogg; codecs=opus", true, nil
		want := &content{Kind: kindText, Text: "look", SentAt: 5, Peer: wire.UserID{4}, Attachments: []Attachment{samplePointer(), voice}}
		got, err := openContent(mustSeal(t, want))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	bad := map[string]func(a *Attachment){
		"no blob":            func(a *Attachment) { a.blob = wire.BlobID{} },
		"short key":          func(a *Attachment) { a.key = a.key[:31] },
		"no digest":          func(a *Attachment) { a.digest = nil },
		"empty":              func(a *Attachment) { a.Size = 0 },
		"over 100 MiB":       func(a *Attachment) { a.Size = MaxAttachmentSize + 1 },
		"a path":             func(a *Attachment) { a.Name = "../../etc/passwd" },
		"a backslash":        func(a *Attachment) { a.Name = `..\boot.ini` },
		"dot dot":            func(a *Attachment) { a.Name = ".." },
		"a control":          func(a *Attachment) { a.Name = "a\nb.txt" },
		"a bidi control":     func(a *Attachment) { a.Name = "gpj.\u202eexe" },
		"name too long":      func(a *Attachment) { a.Name = strings.Repeat("a", MaxAttachmentName+1) },
		"not a type":         func(a *Attachment) { a.Type = "jpeg" },
		"type too long":      func(a *Attachment) { a.Type = "image/" + strings.Repeat("a", MaxAttachmentType) },
		"thumbnail too big":  func(a *Attachment) { a.Thumbnail = make([]byte, MaxThumbnail+1) },
		"waveform too long":  func(a *Attachment) { a.Waveform = make([]byte, MaxWaveform+1) },
		"name not UTF-8":     func(a *Attachment) { a.Name = "\xff.txt" },
		"type with a space ": func(a *Attachment) { a.Type = "image /png" },
	}
	for name, spoil := range bad {
		t.Run(name, func(t *testing.T) {
			a := samplePointer()
			spoil(&a)
			m, err := openContent(mustSeal(t, &content{Kind: kindText, Text: "caption", Attachments: []Attachment{samplePointer(), a}}))
			if err != nil {
				t.Fatalf("the message was refused: %v", err)
			}
			if m.Text != "caption" || len(m.Attachments) != 1 || !reflect.DeepEqual(m.Attachments[0], samplePointer()) {
				t.Fatalf("got %q with %d attachments, want the caption and the good one", m.Text, len(m.Attachments))
			}
		})
	}
	t.Run("at most ten", func(t *testing.T) {
		var atts []Attachment
		for range MaxAttachments + 2 {
			atts = append(atts, samplePointer())
		}
		m, err := parseContent((&content{Kind: kindText, Attachments: atts}).marshal())
		if err != nil || len(m.Attachments) != MaxAttachments {
			t.Fatalf("got %d attachments, %v", len(m.Attachments), err)
		}
	})
	t.Run("record", func(t *testing.T) {
		want := sampleMessage()
		a := samplePointer()
		a.Transfer, a.Done, a.Failure = TransferFailed, 65536, "the relay takes no more files"
		a.nonce, a.token, a.tokenExp = bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{4}, 32), 1_700_000_000_000
		want.Attachments = []Attachment{a, samplePointer()}
		got, err := parseMessage(want.marshal())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}

// sendFilesFixture is an offline client with a contact, Bob.
type sendFilesFixture struct {
	c   *Client
	st  store.Store
	bob wire.UserID
}

func newSendFilesFixture(t *testing.T) *sendFilesFixture {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	c := offlineClient(t, st)
	return &sendFilesFixture{c: c, st: st, bob: addContact(t, c, ContactAllowed, applyT0)}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>16)
	}
	return b
}

// TestSendFilesChecks: what SendFiles refuses, each with its error.
func TestSendFilesChecks(t *testing.T) {
	f := newSendFilesFixture(t)
	file := func(mod func(*File)) File {
		fl := File{Name: "a.txt", Type: "text/plain", Size: 3, Content: strings.NewReader("abc")}
		if mod != nil {
			mod(&fl)
		}
		return fl
	}
	many := make([]File, MaxAttachments+1)
	for i := range many {
		many[i] = file(nil)
	}
	tests := []struct {
		name  string
		to    wire.UserID
		files []File
		want  error
	}{
		{"too large", f.bob, []File{file(func(fl *File) { fl.Size = MaxAttachmentSize + 1 })}, ErrAttachmentTooLarge},
		{"too many", f.bob, many, ErrTooManyAttachments},
		{"none", f.bob, nil, ErrBadAttachment},
		{"empty", f.bob, []File{file(func(fl *File) { fl.Size, fl.Content = 0, strings.NewReader("") })}, ErrBadAttachment},
		{"thumbnail", f.bob, []File{file(func(fl *File) { fl.Thumbnail = make([]byte, MaxThumbnail+1) })}, ErrBadAttachment},
		{"waveform", f.bob, []File{file(func(fl *File) { fl.Waveform = make([]byte, MaxWaveform+1) })}, ErrBadAttachment},
		{"type", f.bob, []File{file(func(fl *File) { fl.Type = "not a type" })}, ErrBadAttachment},
		{"name", f.bob, []File{file(func(fl *File) { fl.Name = "a\x00b" })}, ErrBadAttachment},
		{"short", f.bob, []File{file(func(fl *File) { fl.Size = 4 })}, ErrBadAttachment},
		{"long", f.bob, []File{file(func(fl *File) { fl.Size = 2 })}, ErrBadAttachment},
		{"not a contact", wire.NewUserID(), []File{file(nil)}, ErrNotContact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.SendFiles(context.Background(), tt.to, "", tt.files...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	// Nothing of the refused files stays on the device.
	used, _, err := f.c.MediaUsage(context.Background())
	if err != nil || used != 0 {
		t.Fatalf("media used %d bytes, %v; want none", used, err)
	}
}

// TestSendFilesKeepsChunks: SendFiles stores the message waiting for its
// uploads and the file in chunks of at most mediaChunk bytes, which
// OpenAttachment reads back; the path of a name is dropped.
func TestSendFilesKeepsChunks(t *testing.T) {
	f := newSendFilesFixture(t)
	ctx := context.Background()
	data := pattern(3*mediaChunk + 1234)
	id, err := f.c.SendFiles(ctx, f.bob, "", File{Name: "/home/ann/notes.bin", Size: int64(len(data)), Content: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.c.Message(ctx, f.c.me().User, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != StateSending || m.Text != "" || len(m.Attachments) != 1 {
		t.Fatalf("message %+v", m)
	}
	a := m.Attachments[0]
	if a.Name != "notes.bin" || a.Type != "application/octet-stream" || a.Transfer != TransferUploading || a.Size != int64(len(data)) {
		t.Fatalf("attachment %+v", a)
	}
	chunks := 0
	err = f.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bMedia, nil, func(_, v []byte) error {
			chunks++
			if len(v) > mediaChunk {
				t.Errorf("a chunk of %d bytes", len(v))
			}
			return nil
		})
	})
	if err != nil || chunks != 4 {
		t.Fatalf("%d chunks, %v", chunks, err)
	}
	r, err := f.c.OpenAttachment(ctx, f.c.me().User, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if n, err := f.c.Unsent(ctx); err != nil || n != 1 {
		t.Fatalf("unsent %d, %v; want the message waiting for its upload", n, err)
	}
	if _, err := f.c.OpenAttachment(ctx, f.c.me().User, id, 1); !errors.Is(err, ErrNoSuchAttachment) {
		t.Fatalf("index 1: %v", err)
	}
	// Paused, it no longer counts as unsent; resumed, it does again.
	if err := f.c.CancelTransfer(ctx, f.c.me().User, id, 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.c.Unsent(ctx); n != 0 {
		t.Fatalf("unsent %d while paused", n)
	}
	if err := f.c.RetryTransfer(ctx, f.c.me().User, id, 0); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.c.Message(ctx, f.c.me().User, id); m.Attachments[0].Transfer != TransferUploading {
		t.Fatalf("after RetryTransfer: %v", m.Attachments[0].Transfer)
	}
}

// TestReceiveAttachments: a text with attachments is stored with them,
// TransferRemote; a contact's images and voice notes up to
// AutoDownloadSize are queued to download, a stranger's are not; an empty
// caption is kept.
func TestReceiveAttachments(t *testing.T) {
	f := newApplyFixture(t)
	photo := samplePointer()
	big := samplePointer()
	big.Size = AutoDownloadSize + 1
	doc := samplePointer()
	doc.Type, doc.Name = "application/pdf", "a.pdf"
	voice := samplePointer()
	voice.Type, voice.Voice, voice.Name = "audio/ogg", true, ""
	m := &content{Kind: kindText, Attachments: []Attachment{photo, big, doc, voice}}
	env, r := f.apply(t, f.bob, wire.KindMessage, m)
	if !r.downloads {
		t.Fatal("no download queued")
	}
	got := f.message(t, f.bob, env.MessageID)
	want := []Transfer{TransferDownloading, TransferRemote, TransferRemote, TransferDownloading}
	if len(got.Attachments) != len(want) || got.Text != "" {
		t.Fatalf("message %+v", got)
	}
	for i, tr := range want {
		if got.Attachments[i].Transfer != tr {
			t.Errorf("attachment %d: %v, want %v", i, got.Attachments[i].Transfer, tr)
		}
	}
	queued := 0
	_ = f.c.st.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(bDownloads, nil, func(_, _ []byte) error { queued++; return nil })
	})
	if queued != 2 {
		t.Fatalf("%d downloads queued, want 2", queued)
	}
	_, r = f.apply(t, f.stranger, wire.KindRequest, &content{Kind: kindText, Text: "hi", Attachments: []Attachment{photo}})
	if r.downloads {
		t.Fatal("a stranger's photo is downloaded at once")
	}
}

// putReceived stores a received message with one attachment of n bytes
// on the device (its file's record), in the conversation with peer, its
// chat used at used.
func putReceived(t *testing.T, c *Client, peer wire.UserID, n int, used time.Time) wire.MessageID {
	t.Helper()
	conv := DirectConversation(c.me().User, peer)
	a := samplePointer()
	a.Size, a.Transfer, a.Done = int64(n), TransferLocal, int64(n)
	m := &Message{ID: wire.NewMessageID(), Conversation: conv, Peer: peer, SenderDevice: 1, SentAt: used, State: StateReceived, Attachments: []Attachment{a}}
	err := c.st.Update(context.Background(), func(tx store.Tx) error {
		if err := c.insertMessage(tx, peer, m); err != nil {
			return err
		}
		// The record says n bytes; one chunk stands for them all.
		k := fileKey(peer, m.ID, 0)
		if err := putChunks(tx, k, &mediaFile{Conversation: conv, At: unixMS(used), Stored: int64(n) - 1}, [][]byte{{1}}); err != nil {
			return err
		}
		return tx.Put(bMediaUsed, conv[:], binaryUint64(uint64(unixMS(used))))
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// TestEviction: over the limit, the media of the chats used longest ago
// goes first and is TransferRemote again; files not yet uploaded stay;
// opening media marks its chat used; ClearMedia clears the rest.
func TestEviction(t *testing.T) {
	f := newSendFilesFixture(t)
	ctx := context.Background()
	c := f.c
	carol := addContact(t, c, ContactAllowed, applyT0)
	dan := addContact(t, c, ContactAllowed, applyT0)
	const mb = 1 << 20
	old := putReceived(t, c, carol, 59*mb, applyT0)
	mid := putReceived(t, c, dan, 50*mb, applyT0.Add(time.Hour))
	recent := putReceived(t, c, f.bob, 40*mb, applyT0.Add(2*time.Hour))
	data := pattern(mb)
	sent, err := c.SendFiles(ctx, carol, "not uploaded yet", File{Name: "a", Size: mb, Content: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	// Sending uses Carol's chat now, so Dan's is the one used longest ago.
	used, limit, err := c.MediaUsage(ctx)
	if err != nil || used != 150*mb || limit != DefaultMediaLimit {
		t.Fatalf("usage %d of %d, %v", used, limit, err)
	}
	if err := c.SetMediaLimit(ctx, MinMediaLimit-1); !errors.Is(err, ErrMediaLimit) {
		t.Fatalf("a limit under the least: %v", err)
	}
	if err := c.SetMediaLimit(ctx, MinMediaLimit); err != nil {
		t.Fatal(err)
	}
	transfer := func(author wire.UserID, id wire.MessageID) Transfer {
		m, err := c.Message(ctx, author, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Attachments[0].Transfer
	}
	if got := transfer(dan, mid); got != TransferRemote {
		t.Fatalf("Dan's media: %v, want evicted", got)
	}
	if transfer(carol, old) != TransferLocal || transfer(f.bob, recent) != TransferLocal {
		t.Fatal("evicted more than needed")
	}
	if used, limit, _ := c.MediaUsage(ctx); used != 100*mb || limit != MinMediaLimit {
		t.Fatalf("usage %d of %d", used, limit)
	}
	if _, err := c.OpenAttachment(ctx, dan, mid, 0); !errors.Is(err, ErrNotOnDevice) {
		t.Fatalf("open an evicted file: %v", err)
	}
	if err := c.ClearMedia(ctx); err != nil {
		t.Fatal(err)
	}
	if transfer(carol, old) != TransferRemote || transfer(f.bob, recent) != TransferRemote {
		t.Fatal("ClearMedia left received media")
	}
	if got := transfer(c.me().User, sent); got != TransferUploading {
		t.Fatalf("the file not yet uploaded: %v", got)
	}
	if used, _, _ := c.MediaUsage(ctx); used != mb {
		t.Fatalf("usage %d after ClearMedia, want the pinned file's", used)
	}
	items, err := c.Media(ctx, DirectConversation(c.me().User, carol))
	if err != nil || len(items) != 2 || items[0].Message.ID != sent || items[1].Message.ID != old {
		t.Fatalf("Carol's media: %d items, %v", len(items), err)
	}
}

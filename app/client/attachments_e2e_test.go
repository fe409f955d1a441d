//go:build !js

package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/attachment"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// fileOf returns n bytes that start with text and go on with a pattern.
func fileOf(text string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>12)
	}
	copy(b, text)
	return b
}

// waitFiles waits until d has the message id of author, with its
// attachments, and returns it.
func (d *device) waitFiles(author wire.UserID, id wire.MessageID, what string, cond func(client.Message) bool) client.Message {
	d.t.Helper()
	var m client.Message
	d.eventually(what, func() bool {
		var err error
		m, err = d.c.Message(context.Background(), author, id)
		return err == nil && len(m.Attachments) > 0 && cond(m)
	})
	return m
}

// allLocal: every attachment is on the device.
func allLocal(m client.Message) bool {
	for _, a := range m.Attachments {
		if a.Transfer != client.TransferLocal {
			return false
		}
	}
	return true
}

// read returns what the attachment holds on d.
func (d *device) read(author wire.UserID, id wire.MessageID, index int) []byte {
	d.t.Helper()
	r, err := d.c.OpenAttachment(ctxT(d.t), author, id, index)
	if err != nil {
		d.t.Fatalf("%s: open attachment %d: %v", d.name, index, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		d.t.Fatalf("%s: read attachment %d: %v", d.name, index, err)
	}
	return b
}

func (d *device) download(author wire.UserID, id wire.MessageID, index int) {
	d.t.Helper()
	if err := d.c.Download(ctxT(d.t), author, id, index); err != nil {
		d.t.Fatalf("%s: download attachment %d: %v", d.name, index, err)
	}
}

// TestAttachments: Ann sends a small picture and a file of a few MiB to
// Bob, with a caption. The picture comes down at once, the file when
// Bob asks; both read back as sent, on Bob's device and on Ann's other
// one, and the gallery lists them. The relay's storage never holds the
// files, their names or the caption.
func TestAttachments(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, ann, bob)
	ann2 := r.newDevice("ann2", ann.address)

	const canary = "the attachment canary hums 5e1d"
	photo := fileOf(canary, 1<<10)
	doc := fileOf(canary, 3<<20+5)
	ctx := ctxT(t)
	id, err := ann.c.SendFiles(ctx, bob.acct.User, "caption "+canary,
		client.File{Name: "canary-5e1d.png", Type: "image/png", Size: int64(len(photo)), Content: bytes.NewReader(photo),
			Width: 32, Height: 32, Thumbnail: []byte("thumb")},
		client.File{Name: "report.pdf", Type: "application/pdf", Size: int64(len(doc)), Content: bytes.NewReader(doc)})
	if err != nil {
		t.Fatal(err)
	}
	// Ann's other device is new to Bob's: accept it so that her copy
	// goes to it.
	ann.eventually("ann's message sent", func() bool {
		m, err := ann.c.Message(ctx, ann.acct.User, id)
		return err == nil && m.State != client.StateSending && m.State != client.StateWaiting
	})
	sent, _ := ann.c.Message(ctx, ann.acct.User, id)
	if sent.State != client.StateSent && sent.State != client.StateDelivered {
		t.Fatalf("ann's message is %v (%v)", sent.State, sent.Failure)
	}
	if !allLocal(sent) || sent.Attachments[1].Done != int64(len(doc)) {
		t.Fatalf("ann's attachments: %+v", sent.Attachments)
	}

	got := bob.waitFiles(ann.acct.User, id, "the picture downloaded", func(m client.Message) bool {
		return m.Attachments[0].Transfer == client.TransferLocal
	})
	if got.Text != "caption "+canary || len(got.Attachments) != 2 {
		t.Fatalf("bob has %+v", got)
	}
	a := got.Attachments[0]
	if a.Name != "canary-5e1d.png" || a.Type != "image/png" || a.Size != int64(len(photo)) || a.Width != 32 || string(a.Thumbnail) != "thumb" {
		t.Fatalf("bob's picture: %+v", a)
	}
	if got.Attachments[1].Transfer != client.TransferRemote {
		t.Fatalf("the document is %v before Bob asks for it", got.Attachments[1].Transfer)
	}
	if _, err := bob.c.OpenAttachment(ctx, ann.acct.User, id, 1); !errors.Is(err, client.ErrNotOnDevice) {
		t.Fatalf("open before download: %v", err)
	}
	bob.download(ann.acct.User, id, 1)
	if !bytes.Equal(bob.read(ann.acct.User, id, 0), photo) || !bytes.Equal(bob.read(ann.acct.User, id, 1), doc) {
		t.Fatal("bob's files differ from ann's")
	}
	// Progress came as events, up to the whole file.
	bob.waitEvent("the document's last progress", func(ev client.Event) bool {
		tr, ok := ev.(client.EventTransfer)
		return ok && tr.Index == 1 && tr.Transfer == client.TransferLocal && tr.Done == int64(len(doc))
	})
	items, err := bob.c.Media(ctx, got.Conversation)
	if err != nil || len(items) != 2 || items[0].Message.ID != id || items[1].Index != 1 {
		t.Fatalf("bob's gallery: %+v %v", items, err)
	}

	// Ann's other device has her message, and fetches it like Bob.
	copyOf := ann2.waitFiles(ann.acct.User, id, "ann's copy with the picture", func(m client.Message) bool {
		return m.Attachments[0].Transfer == client.TransferLocal
	})
	if !copyOf.Outgoing {
		t.Fatalf("ann's other device has %+v", copyOf)
	}
	ann2.download(ann.acct.User, id, 1)
	if !bytes.Equal(ann2.read(ann.acct.User, id, 1), doc) {
		t.Fatal("ann's other device has another document")
	}
	assertNoCanary(t, r.Dir(), canary)
	assertNoCanary(t, r.Dir(), "canary-5e1d")
}

// TestGroupAttachments: a file sent to a group reaches every member
// (through the group's sender keys), who download it.
func TestGroupAttachments(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	befriend(t, ann, ben)
	befriend(t, ann, cleo)
	g := makeGroup(t, "Photos", ann, ben, cleo)
	small := fileOf("group", 1<<10)
	big := fileOf("group", 2<<20+77)
	id, err := ann.c.SendGroupFiles(ctxT(t), g.ID, "",
		client.File{Name: "small.jpg", Type: "image/jpeg", Size: int64(len(small)), Content: bytes.NewReader(small)},
		client.File{Name: "big.bin", Size: int64(len(big)), Content: bytes.NewReader(big)})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{ben, cleo} {
		m := d.waitFiles(ann.acct.User, id, "the group's picture", func(m client.Message) bool {
			return m.Attachments[0].Transfer == client.TransferLocal
		})
		if m.Author != ann.acct.User || m.Text != "" || len(m.Attachments) != 2 {
			t.Fatalf("%s has %+v", d.name, m)
		}
		d.download(ann.acct.User, id, 1)
		if !bytes.Equal(d.read(ann.acct.User, id, 0), small) || !bytes.Equal(d.read(ann.acct.User, id, 1), big) {
			t.Fatalf("%s's files differ", d.name)
		}
	}
}

// cutter is an http.RoundTripper that can hold or cut the blobs'
// requests, and records the offsets uploads started from.
type cutter struct {
	mu         sync.Mutex
	cutPatch   int64         // cut the next PATCH's body after this many bytes (0: never)
	holdPatch  chan struct{} // when set, PATCHes wait on it (and fail when the request ends)
	cutGet     int64         // cut the next GET's body after this many bytes (0: never)
	patchFrom  []string      // Upload-Offset of each PATCH
	ranges     []string      // Range of each GET
	patched    atomic.Int64  // bytes of PATCH bodies sent
	patchCount atomic.Int64
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	switch req.Method {
	case http.MethodPatch:
		c.patchFrom = append(c.patchFrom, req.Header.Get("Upload-Offset"))
		c.patchCount.Add(1)
		if hold := c.holdPatch; hold != nil {
			c.mu.Unlock()
			select {
			case <-hold:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
			c.mu.Lock()
		}
		if c.cutPatch > 0 {
			n := c.cutPatch
			c.cutPatch = 0
			body := req.Body
			req = req.Clone(req.Context())
			req.Body = io.NopCloser(io.MultiReader(io.LimitReader(body, n), errReader{}))
		}
		if req.ContentLength > 0 {
			c.patched.Add(req.ContentLength)
		}
	case http.MethodGet:
		c.ranges = append(c.ranges, req.Header.Get("Range"))
	}
	cutGet := c.cutGet
	if req.Method == http.MethodGet {
		c.cutGet = 0
	}
	c.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || cutGet == 0 {
		return resp, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(resp.Body, cutGet), errReader{}), resp.Body}
	return resp, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection cut") }

// TestUploadResumes: an upload cut in the middle goes on from where the
// relay's copy stopped, also after the client restarts on the same
// store; the recipient gets the file whole.
func TestUploadResumes(t *testing.T) {
	r := startRelay(t)
	cut := &cutter{cutPatch: 1 << 20}
	tune := func(c *client.Config) { c.BlobTransport = client.NewHTTPBlobTransport(&http.Client{Transport: cut}) }
	ann := r.newDeviceWith("ann", "email:ann@example.org", tune)
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, ann, bob)

	data := fileOf("resume", 13<<20+3)
	blobSize := attachment.BlobSize(int64(len(data)))
	id, err := ann.c.SendFiles(ctxT(t), bob.acct.User, "", client.File{Name: "big.bin", Size: int64(len(data)), Content: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	// The first PATCH is cut after 1 MiB; the next starts from there.
	wait.For(t, "an upload resumed", func() bool { return cut.patchCount.Load() >= 2 })
	cut.mu.Lock()
	second := cut.patchFrom[1]
	cut.holdPatch = make(chan struct{}) // the third waits: restart meanwhile
	cut.mu.Unlock()
	if second != "1048576" {
		t.Fatalf("the second PATCH starts at %s, want 1048576", second)
	}
	wait.For(t, "a PATCH held", func() bool { return cut.patchCount.Load() >= 3 })
	ann.close()
	cut.mu.Lock()
	close(cut.holdPatch)
	cut.holdPatch = nil
	done := cut.patchFrom[len(cut.patchFrom)-1]
	cut.mu.Unlock()
	ann.open()
	ann.start()
	ann.waitState(bob, id, client.StateDelivered)
	cut.mu.Lock()
	afterRestart := cut.patchFrom[3]
	cut.mu.Unlock()
	if afterRestart != done {
		t.Fatalf("after the restart the upload starts at %s, want %s (where it stood)", afterRestart, done)
	}
	if sent := cut.patched.Load(); sent > blobSize+(1<<20)+5<<20 {
		t.Fatalf("sent %d bytes for a blob of %d", sent, blobSize)
	}
	bob.waitFiles(ann.acct.User, id, "the file", func(client.Message) bool { return true })
	bob.download(ann.acct.User, id, 0)
	if !bytes.Equal(bob.read(ann.acct.User, id, 0), data) {
		t.Fatal("bob's file differs")
	}
}

// TestDownloadResumes: a download cut in the middle resumes with a Range
// request from the last whole chunk stored, and the file is whole.
func TestDownloadResumes(t *testing.T) {
	r := startRelay(t)
	cut := &cutter{}
	ann := r.newDevice("ann", "email:ann@example.org")
	bob := r.newDeviceWith("bob", "email:bob@example.org", func(c *client.Config) { c.BlobTransport = client.NewHTTPBlobTransport(&http.Client{Transport: cut}) })
	befriend(t, ann, bob)
	data := fileOf("resume download", 5<<20+11)
	id, err := ann.c.SendFiles(ctxT(t), bob.acct.User, "", client.File{Name: "f.bin", Size: int64(len(data)), Content: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFiles(ann.acct.User, id, "the file", func(client.Message) bool { return true })
	cut.mu.Lock()
	cut.cutGet = 3 << 20
	cut.mu.Unlock()
	if err := bob.c.Download(ctxT(t), ann.acct.User, id, 0); err == nil {
		t.Fatal("a cut download succeeded")
	}
	m, _ := bob.c.Message(ctxT(t), ann.acct.User, id)
	if a := m.Attachments[0]; a.Transfer != client.TransferFailed || a.Done == 0 || a.Done%(256<<10) != 0 {
		t.Fatalf("after the cut: %v, %d bytes", a.Transfer, a.Done)
	}
	bob.download(ann.acct.User, id, 0)
	cut.mu.Lock()
	ranges := append([]string(nil), cut.ranges...)
	cut.mu.Unlock()
	if len(ranges) != 2 || ranges[0] != "" || !strings.HasPrefix(ranges[1], "bytes=") {
		t.Fatalf("requests' ranges: %q", ranges)
	}
	if !bytes.Equal(bob.read(ann.acct.User, id, 0), data) {
		t.Fatal("the resumed download differs")
	}
}

// blobFiles lists the blobs the relay stores.
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTamperedAndExpired: a blob changed on the relay is refused and
// nothing of it kept; one the relay no longer has is reported gone.
func TestTamperedAndExpired(t *testing.T) {
	clk := &relayClock{}
	r := startRelayWith(t, func(c *server.Config) { c.Gateway.Now = clk.Now })
	ann := r.newDevice("ann", "email:ann@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, ann, bob)
	data := fileOf("tamper", 300<<10)
	id, err := ann.c.SendFiles(ctxT(t), bob.acct.User, "", client.File{Name: "f.bin", Size: int64(len(data)), Content: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFiles(ann.acct.User, id, "the file", func(client.Message) bool { return true })
	files := blobFiles(t, r.Dir())
	if len(files) != 1 {
		t.Fatalf("%d blobs on the relay", len(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(files[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	err = bob.c.Download(ctxT(t), ann.acct.User, id, 0)
	if !errors.Is(err, attachment.ErrTampered) {
		t.Fatalf("download of a tampered blob: %v", err)
	}
	m, _ := bob.c.Message(ctxT(t), ann.acct.User, id)
	if a := m.Attachments[0]; a.Transfer != client.TransferFailed || a.Failure != attachment.ErrTampered.Error() || a.Done != 0 {
		t.Fatalf("after a tampered download: %+v", a)
	}
	if used, _, err := bob.c.MediaUsage(ctxT(t)); err != nil || used != 0 {
		t.Fatalf("bob keeps %d bytes, %v", used, err)
	}

	clk.advance(31 * 24 * time.Hour)
	err = bob.c.Download(ctxT(t), ann.acct.User, id, 0)
	if !errors.Is(err, client.ErrAttachmentGone) {
		t.Fatalf("download of an expired blob: %v", err)
	}
	m, _ = bob.c.Message(ctxT(t), ann.acct.User, id)
	if a := m.Attachments[0]; a.Transfer != client.TransferExpired {
		t.Fatalf("after an expired download: %v", a.Transfer)
	}
}

// relayClock is the relay's clock, moved forward by a test.
type relayClock struct {
	mu   sync.Mutex
	skew time.Duration
}

func (c *relayClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skew)
}

func (c *relayClock) advance(d time.Duration) {
	c.mu.Lock()
	c.skew += d
	c.mu.Unlock()
}

// TestAttachmentsOffline: files sent while offline go, and the message
// with them, once the device is connected again.
func TestAttachmentsOffline(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, ann, bob)
	ann.stop()
	data := fileOf("offline", 70<<10)
	id, err := ann.c.SendFiles(ctxT(t), bob.acct.User, "written offline", client.File{Name: "o.bin", Size: int64(len(data)), Content: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ann.c.Unsent(ctxT(t)); err != nil || n != 1 {
		t.Fatalf("unsent %d, %v", n, err)
	}
	ann.start()
	ann.waitState(bob, id, client.StateDelivered)
	bob.waitFiles(ann.acct.User, id, "the file", func(client.Message) bool { return true })
	bob.download(ann.acct.User, id, 0)
	if !bytes.Equal(bob.read(ann.acct.User, id, 0), data) {
		t.Fatal("bob's file differs")
	}
	if n, err := ann.c.Unsent(ctxT(t)); err != nil || n != 0 {
		t.Fatalf("unsent %d, %v after sending", n, err)
	}
}

// boundedStore records the largest value and the most bytes one
// transaction of a store writes.
type boundedStore struct {
	store.Store
	maxValue, maxTx atomic.Int64
}

func (s *boundedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		ct := &countingTx{Tx: tx, s: s}
		err := fn(ct)
		for {
			old := s.maxTx.Load()
			if ct.n <= old || s.maxTx.CompareAndSwap(old, ct.n) {
				break
			}
		}
		return err
	})
}

type countingTx struct {
	store.Tx
	s *boundedStore
	n int64
}

func (t *countingTx) Put(bucket, key, value []byte) error {
	t.n += int64(len(value))
	for {
		old := t.s.maxValue.Load()
		if int64(len(value)) <= old || t.s.maxValue.CompareAndSwap(old, int64(len(value))) {
			break
		}
	}
	return t.Tx.Put(bucket, key, value)
}

// patterned is a reader of n bytes of a pattern, made as it is read.
type patterned struct{ off, n int64 }

func (p *patterned) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		b[i] = byte((p.off + int64(i)) * 131 >> 8)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// TestLargestAttachment: a file of MaxAttachmentSize goes end to end,
// streamed: no value and no transaction of either store ever holds more
// than a few MiB of it.
func TestLargestAttachment(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MiB through the relay")
	}
	r := startRelay(t)
	stores := map[string]*boundedStore{}
	wrapped := func(name, address string) *device {
		d := r.newDevice(name, address)
		d.wrap = func(st store.Store) store.Store {
			b := &boundedStore{Store: st}
			stores[name] = b
			return b
		}
		d.restart()
		return d
	}
	ann := wrapped("ann", "email:ann@example.org")
	bob := wrapped("bob", "email:bob@example.org")
	befriend(t, ann, bob)
	const size = client.MaxAttachmentSize
	id, err := ann.c.SendFiles(ctxT(t), bob.acct.User, "", client.File{Name: "max.bin", Size: size, Content: &patterned{n: size}})
	if err != nil {
		t.Fatal(err)
	}
	ann.waitState(bob, id, client.StateDelivered)
	bob.waitFiles(ann.acct.User, id, "the file", func(client.Message) bool { return true })
	bob.download(ann.acct.User, id, 0)
	rd, err := bob.c.OpenAttachment(ctxT(t), ann.acct.User, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, want := sha256.New(), sha256.New()
	n, err := io.Copy(got, rd)
	rd.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	io.Copy(want, &patterned{n: size})
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("bob's file differs")
	}
	for name, s := range stores {
		if v, tx := s.maxValue.Load(), s.maxTx.Load(); v > 256<<10 || tx > 4<<20 {
			t.Errorf("%s's store took a value of %d bytes and a transaction of %d", name, v, tx)
		}
	}
}

// BenchmarkAttachmentRoundTrip measures a file of MaxAttachmentSize from
// Ann's client to Bob's through a real relay on loopback, both stores on
// disk: SendFiles (the copy on Ann's device), encryption and upload,
// the message, Bob's download, decryption and storage, and reading it
// back from his store. MB/s is of the file.
func BenchmarkAttachmentRoundTrip(b *testing.B) {
	r := startRelay(b)
	ann := r.newDevice("ann", "email:ann@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(b, ann, bob)
	const size = client.MaxAttachmentSize
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		id, err := ann.c.SendFiles(ctxT(b), bob.acct.User, "", client.File{Name: "max.bin", Size: size, Content: &patterned{n: size}})
		if err != nil {
			b.Fatal(err)
		}
		bob.waitFiles(ann.acct.User, id, "the file", func(client.Message) bool { return true })
		bob.download(ann.acct.User, id, 0)
		rd, err := bob.c.OpenAttachment(ctxT(b), ann.acct.User, id, 0)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rd)
		rd.Close()
		if err != nil || n != size {
			b.Fatalf("read %d bytes, %v", n, err)
		}
	}
}

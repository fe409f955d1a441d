package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image.DecodeConfig reads a picture's size
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Files go with 'send --file PATH' (a message with attachments, the text
// its caption) and come with 'receive --save-dir DIR', which downloads
// and saves what arrives. Progress goes to standard error, as a line that
// redraws itself when that is a terminal, and as JSON lines with --json.

// sendArgs is a send command line: the target, the text, and the files.
type sendArgs struct {
	group   bool
	target  string
	words   []string
	files   []string
	caption *string
	json    bool
}

// parseSend reads send's arguments: --group, --file PATH (repeated),
// --caption TEXT and --json anywhere (until "--"), the target and the
// text's words; any other word is text, even one that starts with a dash.
func parseSend(args []string) (*sendArgs, error) {
	a := new(sendArgs)
	var rest []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") {
			name = ""
		}
		switch name {
		case "group":
			a.group = true
			continue
		case "json":
			a.json = true
			continue
		case "file", "caption":
		default:
			rest = append(rest, arg) // a word of the text, even "-1"
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, usageError("send %s needs a value", arg)
			}
			i++
			value = args[i]
		}
		if name == "file" {
			a.files = append(a.files, value)
		} else {
			a.caption = &value
		}
	}
	if len(rest) < 1 {
		return nil, usageError("send takes an address (or --group and a group ID) and a text")
	}
	a.target, a.words = rest[0], rest[1:]
	switch {
	case len(a.files) == 0 && a.caption != nil:
		return nil, usageError("--caption goes with --file; without files, give the text")
	case len(a.files) > client.MaxAttachments:
		return nil, usageError("at most %d files in one message", client.MaxAttachments)
	case len(a.files) > 0 && a.caption != nil && len(a.words) > 0:
		return nil, usageError("give the caption once: with --caption or as the text")
	}
	return a, nil
}

// caption is the text that goes with the files.
func (a *sendArgs) captionText() string {
	if a.caption != nil {
		return *a.caption
	}
	return strings.Join(a.words, " ")
}

// openFiles opens the files to send, with what the recipient is shown of
// them. The caller closes them.
func openFiles(paths []string) ([]client.File, func(), error) {
	var files []client.File
	var open []*os.File
	closeAll := func() {
		for _, f := range open {
			f.Close()
		}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		open = append(open, f)
		st, err := f.Stat()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		if !st.Mode().IsRegular() {
			closeAll()
			return nil, nil, fmt.Errorf("%s is not a file", p)
		}
		if st.Size() > client.MaxAttachmentSize {
			closeAll()
			return nil, nil, fmt.Errorf("%s: %w", p, client.ErrAttachmentTooLarge)
		}
		typ := mime.TypeByExtension(strings.ToLower(filepath.Ext(p)))
		file := client.File{Name: filepath.Base(p), Type: typ, Size: st.Size(), Content: f}
		if strings.HasPrefix(typ, "image/") {
			if cfg, _, err := image.DecodeConfig(f); err == nil {
				file.Width, file.Height = cfg.Width, cfg.Height
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				closeAll()
				return nil, nil, err
			}
		}
		files = append(files, file)
	}
	return files, closeAll, nil
}

// sendFiles sends files to a contact or a group and waits until the
// relay has the message, showing the uploads' progress.
func (c *cli) sendFiles(ctx context.Context, s *session, a *sendArgs, to func([]client.File) (wire.MessageID, error), name string) error {
	files, closeFiles, err := openFiles(a.files)
	if err != nil {
		return err
	}
	id, err := to(files)
	closeFiles()
	if err != nil {
		return err
	}
	me, err := s.client.Account()
	if err != nil {
		return err
	}
	p := c.newProgress(a.json)
	defer p.end()
	// Wait while something moves: a minute without news ends the wait
	// (what is left goes with the next command).
	const quiet = 60 * time.Second
	timeout := time.NewTimer(quiet)
	defer timeout.Stop()
	for {
		m, err := s.client.Message(ctx, me.User, id)
		if err != nil {
			return err
		}
		switch m.State {
		case client.StateSent, client.StateDelivered, client.StateRead:
			p.sent(id)
			return nil
		case client.StateFailed:
			return &refusedErr{refusal(m.Failure, name)}
		}
		for _, at := range m.Attachments {
			if at.Transfer == client.TransferFailed {
				return fmt.Errorf("%s could not be sent: %s", at.Name, at.Failure)
			}
		}
		select {
		case ev, ok := <-s.client.Events():
			if !ok {
				return errors.New("client closed before the message was sent")
			}
			switch ev := ev.(type) {
			case client.EventTransfer:
				if ev.Message == id {
					p.show(m.Attachments[ev.Index].Name, ev)
					timeout.Reset(quiet)
				}
			case client.IdentityChanged:
				return &client.IdentityChangedError{Contact: ev.Contact, Devices: ev.Devices}
			}
		case <-timeout.C:
			return errors.New("the files are not sent yet: they go on with the next command")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// progress shows transfers on standard error: a line redrawn in place on
// a terminal, JSON lines with --json, nothing otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	json  *json.Encoder
	drawn bool
	// missed: a message arrived while a download waited (its event was
	// taken there): the stored messages are to be looked at again.
	missed bool
}

// progressJSON is one line of progress with --json.
type progressJSON struct {
	Event   string `json:"event"` // "progress", "sent" or "saved"
	Message string `json:"message,omitempty"`
	Name    string `json:"name,omitempty"`
	Done    int64  `json:"done,omitempty"`
	Size    int64  `json:"size,omitempty"`
	Path    string `json:"path,omitempty"`
}

func (c *cli) newProgress(asJSON bool) *progress {
	p := &progress{w: c.stderr, tty: isTerminal(c.stderr)}
	if asJSON {
		p.json = json.NewEncoder(c.stderr)
	}
	return p
}

func (p *progress) show(name string, ev client.EventTransfer) {
	switch {
	case p.json != nil:
		_ = p.json.Encode(progressJSON{Event: "progress", Message: ev.Message.String(), Name: name, Done: ev.Done, Size: ev.Size})
	case p.tty && ev.Size > 0:
		verb := "Sending"
		if !ev.Author.IsZero() && ev.Transfer == client.TransferDownloading {
			verb = "Fetching"
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s %s: %d%%", verb, terminalSafe(name), ev.Done*100/ev.Size)
		p.drawn = true
	}
}

func (p *progress) sent(id wire.MessageID) {
	if p.json != nil {
		_ = p.json.Encode(progressJSON{Event: "sent", Message: id.String()})
	}
}

func (p *progress) saved(id wire.MessageID, path string, size int64) {
	if p.json != nil {
		_ = p.json.Encode(progressJSON{Event: "saved", Message: id.String(), Path: path, Size: size})
	}
}

// end clears the progress line.
func (p *progress) end() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// terminalSafe drops control characters from a name shown on a terminal.
func terminalSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.In(r, unicode.Bidi_Control) {
			return -1
		}
		return r
	}, s)
}

// attachmentJSON is an attachment in a line of 'receive --json'; Path is
// where --save-dir saved it.
type attachmentJSON struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Size  int64  `json:"size"`
	Voice bool   `json:"voice,omitempty"`
	Path  string `json:"path,omitempty"`
}

// saveAttachments downloads the message's attachments and saves them in
// dir (dir "": they are only listed), returning what to print of them.
func (c *cli) saveAttachments(ctx context.Context, s *session, m client.Message, dir string, p *progress) ([]attachmentJSON, error) {
	author := m.Author
	if author.IsZero() {
		author = m.Peer
	}
	var out []attachmentJSON
	for i, a := range m.Attachments {
		j := attachmentJSON{Name: a.Name, Type: a.Type, Size: a.Size, Voice: a.Voice}
		if dir != "" {
			path, err := c.saveAttachment(ctx, s, author, m, i, dir, p)
			if err != nil {
				return nil, fmt.Errorf("save %s: %w", terminalSafe(displayName(a)), err)
			}
			j.Path = path
			p.saved(m.ID, path, a.Size)
		}
		out = append(out, j)
	}
	return out, nil
}

// saveAttachment downloads one attachment and writes it to a new file in
// dir, and returns the file's path.
func (c *cli) saveAttachment(ctx context.Context, s *session, author wire.UserID, m client.Message, i int, dir string, p *progress) (string, error) {
	done := make(chan error, 1)
	go func() { done <- s.client.Download(ctx, author, m.ID, i) }()
	name := displayName(m.Attachments[i])
wait:
	for {
		select {
		case err := <-done:
			if err != nil {
				return "", explain(err)
			}
			break wait
		case ev, ok := <-s.client.Events():
			if !ok {
				return "", errors.New("client closed")
			}
			switch ev := ev.(type) {
			case client.EventTransfer:
				if ev.Message == m.ID && ev.Index == i {
					p.show(name, ev)
				}
			case client.MessageReceived:
				p.missed = true
			}
		}
	}
	p.end()
	r, err := s.client.OpenAttachment(ctx, author, m.ID, i)
	if err != nil {
		return "", err
	}
	defer r.Close()
	f, err := createUnique(dir, safeName(m.Attachments[i]))
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// displayName is what to call an attachment: its name, or for a voice
// note or a file without one, a name from its type.
func displayName(a client.Attachment) string {
	if a.Name != "" {
		return a.Name
	}
	base := "attachment"
	if a.Voice {
		base = "voice-note"
	}
	if exts, err := mime.ExtensionsByType(a.Type); err == nil && len(exts) > 0 {
		return base + exts[0]
	}
	return base
}

// safeName is a file name to save an attachment under in a directory: the
// last element of the name it came with, without control characters, and
// never "", "." or ".." (a sender cannot make it climb out of the
// directory or name a device).
func safeName(a client.Attachment) string {
	name := strings.ReplaceAll(displayName(a), `\`, "/")
	name = terminalSafe(name[strings.LastIndex(name, "/")+1:])
	name = strings.TrimLeft(name, ". ")
	if name == "" {
		return "attachment"
	}
	return name
}

// createUnique creates a new file named name in dir, or, when that name
// is taken, "name (1).ext", "name (2).ext" and so on: it never replaces a
// file.
func createUnique(dir, name string) (*os.File, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 1000; i++ {
		n := name
		if i > 0 {
			n = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		f, err := os.OpenFile(filepath.Join(dir, n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("%s: too many files of that name", filepath.Join(dir, name))
}

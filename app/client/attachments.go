package client

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mutualcoop/mutual/relay/wire"
)

// A text message may carry attachments: files, photos, videos and voice
// notes, each encrypted on the device into a blob the relay stores
// (crypto/attachment) and named in the message by a pointer (content
// field 18: the blob's ID, its key and digest, and what the file is).
// The caption is the message's text, empty or not. This file has the
// types; upload.go and download.go move the bytes, media.go keeps them on
// the device.

// MaxAttachmentSize is the largest file one attachment carries.
const MaxAttachmentSize = 100 << 20

// MaxAttachments is the most attachments in one message.
const MaxAttachments = 10

// MaxThumbnail is the most bytes of an attachment's thumbnail.
const MaxThumbnail = 12 << 10

// AutoDownloadSize is the largest image or voice note downloaded as soon
// as its message arrives; larger ones, and other files, wait for
// Download.
const AutoDownloadSize = 16 << 20

// Limits of an attachment's description, checked when sending and when
// receiving.
const (
	// MaxAttachmentName is the longest file name, in bytes of UTF-8.
	MaxAttachmentName = 255
	// MaxAttachmentType is the longest MIME type, in bytes.
	MaxAttachmentType = 127
	// MaxWaveform is the most levels of a voice note's waveform.
	MaxWaveform = 128
)

// File is a file to send.
type File struct {
	Name    string // shown to the recipient; base name only
	Type    string // MIME type ("" sends application/octet-stream)
	Size    int64
	Content io.Reader // read once by SendFiles, which keeps a copy on the device
	// Width and Height: images and videos, in pixels; 0 unknown.
	Width, Height int
	Duration      time.Duration // audio and video; 0 unknown
	Thumbnail     []byte        // made by the caller (canvas in the browser); at most MaxThumbnail
	Waveform      []byte        // voice notes; at most MaxWaveform levels
	Voice         bool          // a recorded voice note
}

// Attachment is a file a message carries, as Message.Attachments lists it.
type Attachment struct {
	Name, Type    string
	Size          int64
	Width, Height int
	Duration      time.Duration
	Thumbnail     []byte
	Waveform      []byte
	Voice         bool
	Transfer      Transfer // where its bytes are
	Done          int64    // bytes of the plaintext moved so far (upload or download)
	// Failure says why the last attempt failed, with TransferFailed.
	Failure string

	// What only this device knows: the blob (its ID, key, nonce and
	// digest; the digest once the upload is done, for an outgoing one),
	// and an upload's token from the relay and when it expires.
	blob     wire.BlobID
	key      []byte
	nonce    []byte
	digest   []byte
	token    []byte
	tokenExp int64 // Unix ms, the relay's clock
}

// Image reports whether the attachment is a picture (its type is image/*).
func (a *Attachment) Image() bool { return strings.HasPrefix(a.Type, "image/") }

// Video reports whether the attachment is a video (its type is video/*).
func (a *Attachment) Video() bool { return strings.HasPrefix(a.Type, "video/") }

// onRelay reports whether the relay has (or had) the attachment's whole
// blob: a received attachment, or a sent one whose upload is done (its
// digest is known only then). What moves such a one is a download.
func (a *Attachment) onRelay() bool { return len(a.digest) > 0 }

// Transfer says where an attachment's bytes are.
type Transfer uint8

const (
	// TransferLocal: on this device (sent from here, or downloaded).
	TransferLocal Transfer = iota + 1
	// TransferUploading: being sent (Done of Size).
	TransferUploading
	// TransferPaused: upload or download cancelled by the person;
	// RetryTransfer resumes it.
	TransferPaused
	// TransferRemote: on the relay, not on this device; Download fetches it.
	TransferRemote
	// TransferDownloading: Done of Size.
	TransferDownloading
	// TransferFailed: the last attempt failed (Attachment.Failure and
	// EventTransfer.Err say why); RetryTransfer tries again.
	TransferFailed
	// TransferExpired: the relay no longer has it: "This file is no
	// longer available".
	TransferExpired
)

func (t Transfer) String() string {
	switch t {
	case TransferLocal:
		return "local"
	case TransferUploading:
		return "uploading"
	case TransferPaused:
		return "paused"
	case TransferRemote:
		return "remote"
	case TransferDownloading:
		return "downloading"
	case TransferFailed:
		return "failed"
	case TransferExpired:
		return "expired"
	}
	return "unknown"
}

// MediaItem is one attachment of a conversation, as Media lists it:
// Message.Attachments[Index].
type MediaItem struct {
	Message Message
	Index   int
}

// Attachment returns the item's attachment.
func (it MediaItem) Attachment() Attachment { return it.Message.Attachments[it.Index] }

// EventTransfer: an attachment's transfer moved (progress, done, failed).
// Author and Message name the message (Author is this account for an
// outgoing one), Index the attachment in it.
type EventTransfer struct {
	Author       wire.UserID
	Message      wire.MessageID
	Conversation wire.ConversationID
	Index        int
	Transfer     Transfer
	Done, Size   int64
	Err          error
}

func (EventTransfer) event() {}

// Errors of attachments that callers branch on.
var (
	// ErrNotOnDevice: the attachment's bytes are not on this device
	// (Download them first).
	ErrNotOnDevice = errors.New("client: this attachment is not on this device")
	// ErrAttachmentGone: the relay no longer has the attachment's blob
	// (it expired or was deleted).
	ErrAttachmentGone = errors.New("this file is no longer available")
	// ErrAttachmentTooLarge: a file over MaxAttachmentSize.
	ErrAttachmentTooLarge = errors.New("files can be at most 100 MB")
	// ErrTooManyAttachments: more than MaxAttachments files in a message.
	ErrTooManyAttachments = fmt.Errorf("client: at most %d files in one message", MaxAttachments)
	// ErrBadAttachment: a file's name, type, thumbnail, waveform or
	// content is unusable; the error says which.
	ErrBadAttachment = errors.New("client: unusable file")
	// ErrNoSuchAttachment: the message has no attachment at that index
	// (or there is no such message).
	ErrNoSuchAttachment = errors.New("client: no such attachment")
)

// Sizes of a pointer's fields, fixed by crypto/attachment.
const (
	blobKeySize    = 32
	blobDigestSize = 32
	blobNonceSize  = 16
	maxFailure     = 1024 // bytes of Attachment.Failure
)

// marshalPointer encodes a's pointer: the Attachment of content field 18
// (docs/protocol.md), what a recipient needs to fetch and show it.
func (a *Attachment) marshalPointer() []byte {
	e := &enc{}
	a.appendPointer(e)
	return e.b
}

func (a *Attachment) appendPointer(e *enc) {
	e.id(1, a.blob)
	e.bytes(2, a.key)
	e.bytes(3, a.digest)
	e.uint(4, uint64(a.Size))
	e.string(5, a.Type)
	e.string(6, a.Name)
	e.uint(7, uint64(a.Width))
	e.uint(8, uint64(a.Height))
	e.uint(9, uint64(a.Duration/time.Millisecond))
	e.bytes(10, a.Thumbnail)
	e.bytes(11, a.Waveform)
	e.bool(12, a.Voice)
}

// parsePointer decodes a received pointer and checks every field: the
// blob's ID, key and digest of their sizes, a size of 1 to
// MaxAttachmentSize bytes, a valid type and name, a thumbnail and
// waveform within their limits. The attachment is TransferRemote.
func parsePointer(b []byte) (Attachment, error) {
	a := Attachment{Transfer: TransferRemote}
	err := a.decode(b, nil)
	if err == nil {
		switch {
		case a.blob.IsZero():
			err = errors.New("no blob")
		case len(a.key) != blobKeySize:
			err = fmt.Errorf("key of %d bytes", len(a.key))
		case len(a.digest) != blobDigestSize:
			err = fmt.Errorf("digest of %d bytes", len(a.digest))
		case a.Size <= 0 || a.Size > MaxAttachmentSize:
			err = fmt.Errorf("size %d", a.Size)
		default:
			if err = checkType(a.Type); err == nil {
				err = checkName(a.Name)
			}
		}
		if err != nil {
			err = fmt.Errorf("%w: %w", errMalformed, err)
		}
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("attachment: %w", err)
	}
	return a, nil
}

// decode reads the pointer's fields of b into a, with their size limits,
// and hands any other field to more (nil: skip it).
func (a *Attachment) decode(b []byte, more func(f field) error) error {
	return decodeFields(b, func(f field) (err error) {
		var u uint32
		var n uint64
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&a.blob))
		case 2:
			a.key, err = f.copyBytes(blobKeySize)
		case 3:
			a.digest, err = f.copyBytes(blobDigestSize)
		case 4:
			n, err = f.uint64()
			a.Size = int64(min(n, 1<<62))
		case 5:
			a.Type, err = f.string(MaxAttachmentType)
		case 6:
			a.Name, err = f.string(MaxAttachmentName)
		case 7:
			u, err = f.uint32()
			a.Width = int(u)
		case 8:
			u, err = f.uint32()
			a.Height = int(u)
		case 9:
			u, err = f.uint32()
			a.Duration = time.Duration(u) * time.Millisecond
		case 10:
			a.Thumbnail, err = f.copyBytes(MaxThumbnail)
		case 11:
			a.Waveform, err = f.copyBytes(MaxWaveform)
		case 12:
			a.Voice, err = f.bool()
		default:
			if more != nil {
				err = more(f)
			}
		}
		return err
	})
}

// marshalRecord encodes a as the message record stores it: the pointer's
// fields and this device's own:
//
//	{1-12 as the pointer (docs/protocol.md), 20 transfer, 21 done,
//	 22 failure, 23 nonce (16), 24 upload token, 25 the token's expiry
//	 (Unix ms, the relay's clock)}
func (a *Attachment) marshalRecord() []byte {
	e := &enc{}
	a.appendPointer(e)
	e.uint(20, uint64(a.Transfer))
	e.uint(21, uint64(a.Done))
	e.string(22, a.Failure)
	e.bytes(23, a.nonce)
	e.bytes(24, a.token)
	e.sint(25, a.tokenExp)
	return e.b
}

// parseAttachmentRecord decodes what marshalRecord wrote.
func parseAttachmentRecord(b []byte) (Attachment, error) {
	var a Attachment
	err := a.decode(b, func(f field) (err error) {
		var n uint64
		switch f.num {
		case 20:
			n, err = f.uint64()
			a.Transfer = Transfer(min(n, 255))
		case 21:
			n, err = f.uint64()
			a.Done = int64(min(n, 1<<62))
		case 22:
			a.Failure, err = f.string(maxFailure)
		case 23:
			a.nonce, err = f.copyBytes(blobNonceSize)
		case 24:
			a.token, err = f.copyBytes(wire.MaxBlobToken)
		case 25:
			a.tokenExp, err = f.sint64()
		}
		return err
	})
	if err != nil {
		return Attachment{}, fmt.Errorf("attachment record: %w", err)
	}
	return a, nil
}

// checkName reports whether name can be an attachment's file name: at
// most MaxAttachmentName bytes of UTF-8, a base name (no slash or
// backslash, not "." or ".."), without control characters, line
// separators or bidirectional controls. Empty is allowed: the receiver
// names the file.
func checkName(name string) error {
	switch {
	case len(name) > MaxAttachmentName:
		return fmt.Errorf("%w: name over %d bytes", ErrBadAttachment, MaxAttachmentName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: name is not UTF-8", ErrBadAttachment)
	case name == "." || name == ".." || strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%w: name %q is not a base name", ErrBadAttachment, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return fmt.Errorf("%w: control character %U in the name", ErrBadAttachment, r)
		}
	}
	return nil
}

// checkType reports whether t can be an attachment's MIME type: empty
// (application/octet-stream), or type/subtype with optional parameters
// as RFC 6838 and RFC 2045 have it, at most MaxAttachmentType bytes.
func checkType(t string) error {
	if t == "" {
		return nil
	}
	if len(t) > MaxAttachmentType {
		return fmt.Errorf("%w: type over %d bytes", ErrBadAttachment, MaxAttachmentType)
	}
	mt, _, err := mime.ParseMediaType(t)
	if err != nil || !strings.Contains(mt, "/") {
		return fmt.Errorf("%w: type %q is not a MIME type", ErrBadAttachment, t)
	}
	return nil
}

// checkFile reports whether f can be sent: its size (1 to
// MaxAttachmentSize bytes), name, type, thumbnail, waveform and
// dimensions within their limits, and content to read.
func checkFile(f *File) error {
	switch {
	case f.Size > MaxAttachmentSize:
		return ErrAttachmentTooLarge
	case f.Size <= 0:
		return fmt.Errorf("%w: %q is empty", ErrBadAttachment, f.Name)
	case f.Content == nil:
		return fmt.Errorf("%w: %q has no content", ErrBadAttachment, f.Name)
	case len(f.Thumbnail) > MaxThumbnail:
		return fmt.Errorf("%w: thumbnail over %d bytes", ErrBadAttachment, MaxThumbnail)
	case len(f.Waveform) > MaxWaveform:
		return fmt.Errorf("%w: waveform over %d levels", ErrBadAttachment, MaxWaveform)
	case f.Width < 0 || f.Height < 0 || f.Width > 1<<31-1 || f.Height > 1<<31-1:
		return fmt.Errorf("%w: size %dx%d", ErrBadAttachment, f.Width, f.Height)
	case f.Duration < 0 || f.Duration/time.Millisecond > 1<<32-1:
		return fmt.Errorf("%w: duration %v", ErrBadAttachment, f.Duration)
	}
	if err := checkName(f.Name); err != nil {
		return err
	}
	return checkType(f.Type)
}

// fileType is the type f is sent with.
func fileType(f *File) string {
	if f.Type == "" {
		return "application/octet-stream"
	}
	return f.Type
}

// baseName is the last element of a path (either separator), as a file
// name to send.
func baseName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	return name
}

package smtp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
)

// Subject is the subject line of every code mail. It does not carry the
// code, so that the code is not shown on lock screens by notification
// previews.
const Subject = "Your Mutual code"

// buildMessage returns the RFC 5322 message for one code, with CRLF line
// ends. Every header value is either a constant, a mailbox that was
// validated as a dot-atom at an LDH domain (so it has no CR, LF or
// specials that could start another header), or encoded by net/mail.
func buildMessage(from *mail.Address, to string, m auth.Message, now time.Time) []byte {
	id := make([]byte, 16)
	rand.Read(id)
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from.String())
	hdr("To", (&mail.Address{Address: to}).String())
	hdr("Subject", Subject)
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "7bit")
	hdr("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "Your Mutual code is %s.\r\n\r\n", m.Code)
	fmt.Fprintf(&b, "It expires in %s. If you did not ask for it, ignore this mail.\r\n", lifetime(m.TTL))
	return b.Bytes()
}

// lifetime says a duration in words: "10 minutes", "1 minute", "90 seconds".
func lifetime(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		if n := int(d / time.Minute); n != 1 {
			return fmt.Sprintf("%d minutes", n)
		}
		return "1 minute"
	default:
		return fmt.Sprintf("%d seconds", int(d.Round(time.Second)/time.Second))
	}
}

package client

import (
	"context"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// FillHistory stores peer as an allowed contact and n messages with
// them, alternately sent and received, as the inbox and outbox would
// have left them; media bytes of files (1 MiB each, as if downloaded) go
// with the first received messages, one file each.
func FillHistory(ctx context.Context, c *Client, peer wire.UserID, n int, media int64) error {
	me := c.me().User
	conv := DirectConversation(me, peer)
	at := time.UnixMilli(1_700_000_000_000)
	file := make([]byte, 1<<20)
	for i := range file {
		file[i] = byte(i * 7)
	}
	err := c.update(ctx, func(ts *txState) error {
		return c.putContact(ts, &Contact{User: peer, State: ContactAllowed, Accepted: true, Added: at})
	})
	for done := 0; err == nil && done < n; {
		err = c.update(ctx, func(ts *txState) error {
			for i := 0; i < 1000 && done < n; i++ {
				at = at.Add(time.Second)
				m := &Message{
					ID: wire.NewMessageID(), Conversation: conv, Peer: peer, SenderDevice: 1,
					Text:   fmt.Sprintf("message %d, about as long as a message usually is", done),
					SentAt: at, ServerTime: at, State: StateRead, Outgoing: done%2 == 0,
				}
				author := peer
				if m.Outgoing {
					author = me
				} else if media > 0 {
					size := min(media, int64(len(file)))
					media -= size
					m.Attachments = []Attachment{{
						Name: "photo.jpg", Type: "image/jpeg", Size: size, Transfer: TransferLocal, Done: size,
						blob: wire.BlobID(wire.NewUserID()), key: make([]byte, blobKeySize), digest: make([]byte, blobDigestSize),
					}}
					k := fileKey(author, m.ID, 0)
					var chunks [][]byte
					for b := file[:size]; len(b) > 0; b = b[min(len(b), mediaChunk):] {
						chunks = append(chunks, b[:min(len(b), mediaChunk)])
					}
					if err := putChunks(ts.tx, k, &mediaFile{Conversation: conv, At: at.UnixMilli()}, chunks); err != nil {
						return err
					}
				}
				if err := c.insertMessage(ts.tx, author, m); err != nil {
					return err
				}
				done++
			}
			return nil
		})
	}
	return err
}

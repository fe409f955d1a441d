package client

import (
	"context"
	"fmt"
)

// uploadLinked uploads the history for a device being linked: messages,
// contacts and groups, attachments as pointers only (the new device
// downloads them from the relay as any device would), and returns the
// blob as the provision carries it.
func (c *Client) uploadLinked(ctx context.Context, progress func(Progress)) ([]byte, error) {
	b, _, err := c.UploadHistory(ctx, HistoryOptions{Media: false}, progress)
	if err != nil {
		return nil, fmt.Errorf("upload the history: %w", err)
	}
	return b.Marshal(), nil
}

// restoreLinked imports the history a provision named.
func (c *Client) restoreLinked(ctx context.Context, blob []byte, progress func(Progress)) (HistoryStats, error) {
	b, err := ParseHistoryBlob(blob)
	if err != nil {
		return HistoryStats{}, fmt.Errorf("the history: %w", err)
	}
	st, err := c.RestoreHistory(ctx, b, progress)
	if err != nil {
		return st, fmt.Errorf("import the history: %w", err)
	}
	return st, nil
}

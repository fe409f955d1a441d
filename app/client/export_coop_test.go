package client

import "context"

// PinCoopKey offers key as the co-op's notice key, as a Welcome does.
func PinCoopKey(ctx context.Context, c *Client, key []byte) error { return c.pinCoopKey(ctx, key) }

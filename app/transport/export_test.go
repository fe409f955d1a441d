package transport

// Stalls reports how often c's reader waited for the delivery consumer.
func Stalls(c *Conn) uint64 { return c.stalls.Load() }

// FramesRead reports how many messages c's reader took from the socket.
func FramesRead(c *Conn) uint64 { return c.framesRead.Load() }

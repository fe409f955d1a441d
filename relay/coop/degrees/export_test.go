package degrees

// SetBlockLen makes b's blocks hold n neighbours, so that tests of small
// graphs move rows between blocks.
func SetBlockLen(b *Builder, n int) { b.blockLen = n }

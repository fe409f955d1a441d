// Package pb reads and writes Protocol Buffers fields by hand, with
// protowire and without generated code, for every hand-written encoding of
// the module: the client-relay protocol (relay/wire), the relay's bus
// record, the client's stored records (app/client) and the encryption's
// libsignal-compatible messages and state records (crypto).
//
// Writing: an Encoder appends fields the proto3 way, leaving out zero
// values; AppendVarint and AppendBytes write a field whatever its value,
// for formats (libsignal's) that spell out every field. Both produce the
// canonical encoding, so a format written with them is byte for byte
// stable.
//
// Reading: ForEach (or Next) walks the fields of a message and the typed
// accessors of Field check each one: its wire type, its range, its length
// and, for text, that it is UTF-8. Bytes and String copy; ByteSlice
// aliases the input. Every error wraps ErrMalformed. Unknown fields are
// the caller's to skip: the walk hands over every field, groups (which no
// format here uses) whole and unreadable.
//
// The package imports only the standard library and protowire, so the
// client's WebAssembly build stays small and the crypto packages stay free
// of the rest of the module.
package pb

package ratchet

import "github.com/mutualcoop/mutual/internal/pb"

// Fields are read with the module's protobuf toolkit (internal/pb).
type field = pb.Field

var errWireType = pb.ErrWireType

func forEachField(b []byte, fn func(f field) error) error { return pb.ForEach(b, fn) }

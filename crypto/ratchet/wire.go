package ratchet

import "github.com/mutualcoop/mutual/crypto/internal/pb"

// The field reader is shared by the crypto packages (crypto/internal/pb).
type field = pb.Field

var errWireType = pb.ErrWireType

func forEachField(b []byte, fn func(f field) error) error { return pb.ForEach(b, fn) }

package pb

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestEncoder(t *testing.T) {
	long := bytes.Repeat([]byte{7}, 200) // a length of two bytes
	tests := []struct {
		name  string
		write func(e *Encoder)
		want  string // hex
	}{
		{"zero values are left out", func(e *Encoder) {
			e.Uint(1, 0)
			e.Sint(2, 0)
			e.Bool(3, false)
			e.Bytes(4, nil)
			e.String(5, "")
			e.ID(6, [16]byte{})
			Packed(e, 7, []uint32(nil))
		}, ""},
		{"uint", func(e *Encoder) { e.Uint(1, 300) }, "08ac02"},
		{"sint", func(e *Encoder) { e.Sint(2, -2); e.Sint(3, 1) }, "1003" + "1802"},
		{"bool", func(e *Encoder) { e.Bool(16, true) }, "8001" + "01"},
		{"bytes", func(e *Encoder) { e.Bytes(1, []byte{0xaa}) }, "0a01aa"},
		{"string", func(e *Encoder) { e.String(2, "hi") }, "12026869"},
		{"id", func(e *Encoder) { e.ID(3, [16]byte{15: 1}) }, "1a10" + "00000000000000000000000000000001"},
		{"empty message is written", func(e *Encoder) { e.Message(4, func(b []byte) []byte { return b }) }, "2200"},
		{"nested message", func(e *Encoder) {
			e.Message(4, func(b []byte) []byte {
				n := Encoder(b)
				n.Uint(1, 1)
				return n
			})
		}, "2202" + "0801"},
		{"message longer than 127 bytes", func(e *Encoder) {
			e.Uint(1, 1)
			e.Message(2, func(b []byte) []byte { return AppendBytes(b, 1, long) })
		}, "0801" + "12cb01" + "0ac801" + hex.EncodeToString(long)},
		{"packed", func(e *Encoder) { Packed(e, 5, []uint64{1, 300}) }, "2a03" + "01ac02"},
		{"appended whatever the value", func(e *Encoder) {
			*e = AppendVarint(*e, 1, 0)
			*e = AppendBytes(*e, 2, nil)
		}, "0800" + "1200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0xff}
			e := Encoder(prefix)
			tt.write(&e)
			if got := hex.EncodeToString(e); got != "ff"+tt.want {
				t.Fatalf("got %s, want ff%s", got, tt.want)
			}
		})
	}
}

package senderkey_test

import (
	"crypto/rand"
	"testing"

	"github.com/mutualcoop/mutual/crypto/senderkey"
)

// BenchmarkEncrypt1KiB: one group message, encrypted and signed once for
// every recipient.
func BenchmarkEncrypt1KiB(b *testing.B) {
	sender := newSender(b)
	pt := make([]byte, 1024)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := sender.Encrypt(pt, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt1KiB: what each recipient device spends on a message
// (the signature check dominates).
func BenchmarkDecrypt1KiB(b *testing.B) {
	sender, receiver := newSender(b), new(senderkey.Record)
	distribute(b, sender, receiver)
	pt := make([]byte, 1024)
	msgs := make([][]byte, b.N)
	for i := range msgs {
		m, err := sender.Encrypt(pt, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m
	}
	b.SetBytes(int64(len(pt)))
	b.ResetTimer()
	for i := range b.N {
		if _, err := receiver.Decrypt(msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshalParseRecord: a received record at its fullest in
// skipped keys (2,000), stored and loaded.
func BenchmarkMarshalParseRecord(b *testing.B) {
	sender, receiver := newSender(b), new(senderkey.Record)
	distribute(b, sender, receiver)
	msgs := encryptN(b, sender, "m", senderkey.MaxSkippedKeys+2)
	if _, err := receiver.Decrypt(msgs[len(msgs)-1]); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := senderkey.ParseRecord(receiver.Marshal()); err != nil {
			b.Fatal(err)
		}
	}
}

//go:build !js

package client

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/boltstore"
	"github.com/mutualcoop/mutual/app/store/memstore"
)

// benchStores are the stores the reading benchmarks run on: memory (as
// tests use) and a bbolt file (as the native client does).
var benchStores = []struct {
	name string
	open func(b *testing.B) store.Store
}{
	{"memstore", func(*testing.B) store.Store { return memstore.New() }},
	{"boltstore", func(b *testing.B) store.Store {
		st, err := boltstore.Open(filepath.Join(b.TempDir(), "client.db"), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}},
}

// BenchmarkHistory reads one page of 200 messages from a conversation
// of 10,000: the newest (opening the chat) and one from the middle
// (scrolling back).
func BenchmarkHistory(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			st := s.open(b)
			defer st.Close()
			c := offlineClient(b, st)
			t0 := time.UnixMilli(1_700_000_000_000)
			peer := addContact(b, c, ContactAllowed, t0)
			receive(b, c, peer, 10_000, t0)
			conv := DirectConversation(c.me().User, peer)
			ctx := context.Background()
			for _, page := range []struct {
				name   string
				before uint64
			}{{"newest", 0}, {"middle", 5_000}} {
				b.Run(page.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						ms, err := c.History(ctx, conv, page.before, 200)
						if err != nil || len(ms) != 200 {
							b.Fatalf("%d messages, %v", len(ms), err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkChats lists 100 conversations of 20 messages each.
func BenchmarkChats(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			st := s.open(b)
			defer st.Close()
			c := offlineClient(b, st)
			t0 := time.UnixMilli(1_700_000_000_000)
			for i := range 100 {
				at := t0.Add(time.Duration(i) * time.Minute)
				receive(b, c, addContact(b, c, ContactAllowed, at), 20, at)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				chats, err := c.Chats(ctx)
				if err != nil || len(chats) != 100 {
					b.Fatalf("%d chats, %v", len(chats), err)
				}
			}
		})
	}
}

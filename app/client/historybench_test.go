//go:build !js

package client_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// BenchmarkHistory10k: a history of 10,000 messages, written and read
// (into a new device of the account, both stores on disk), with no media
// and with 100 MiB of files (a backup), and uploaded and restored through
// a relay (linking). ns/op is one whole round; archive-MB is the
// archive's size.
//
//	go test -run '^$' -bench BenchmarkHistory10k -benchtime 3x ./app/client/
func BenchmarkHistory10k(b *testing.B) {
	r := startRelay(b)
	for _, bc := range []struct {
		name  string
		media int64
	}{{"write+read", 0}, {"write+read-100MiB-media", 100 << 20}} {
		b.Run(bc.name, func(b *testing.B) {
			alice := r.newIdleDevice("alice", "email:"+bc.name+"@example.org")
			if err := client.FillHistory(context.Background(), alice.c, wire.NewUserID(), 10_000, bc.media); err != nil {
				b.Fatal(err)
			}
			path := filepath.Join(b.TempDir(), "history")
			var size int64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				alice2 := r.newIdleDevice("alice2", alice.address)
				b.StartTimer()
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := alice.c.WriteHistory(context.Background(), f, client.HistoryOptions{Media: bc.media > 0}, nil); err != nil {
					b.Fatal(err)
				}
				if size, err = f.Seek(0, io.SeekCurrent); err != nil {
					b.Fatal(err)
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				st, err := alice2.c.ReadHistory(context.Background(), f, nil)
				if err != nil || st.Messages != 10_000 {
					b.Fatal(st, err)
				}
				f.Close()
				b.StopTimer()
				alice2.close()
				b.StartTimer()
			}
			b.ReportMetric(float64(size)/(1<<20), "archive-MB")
		})
	}
	b.Run("upload+restore", func(b *testing.B) {
		alice := r.newDevice("alice", "email:upload@example.org")
		if err := client.FillHistory(context.Background(), alice.c, wire.NewUserID(), 10_000, 0); err != nil {
			b.Fatal(err)
		}
		var size int64
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			alice2 := r.newIdleDevice("alice2", alice.address)
			b.StartTimer()
			blob, _, err := alice.c.UploadHistory(context.Background(), client.HistoryOptions{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			st, err := alice2.c.RestoreHistory(context.Background(), blob, nil)
			if err != nil || st.Messages != 10_000 {
				b.Fatal(st, err)
			}
			size = blob.Size
			b.StopTimer()
			alice2.close()
			b.StartTimer()
		}
		b.ReportMetric(float64(size)/(1<<20), "archive-MB")
	})
}

//go:build !js

package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// BenchmarkBackup10k: a backup of 10,000 messages with 100 MiB of files
// through a real relay (BackupNow), and its restore into a new device
// of the account, its store on disk (RestoreBackup with the recovery
// key). ns/op is both; backup-s and restore-s each; backup-MB the
// relay's blob.
//
//	go test -run '^$' -bench BenchmarkBackup10k -benchtime 2x ./app/client/
func BenchmarkBackup10k(b *testing.B) {
	r := startRelay(b)
	alice := r.newDevice("alice", "email:alice@example.org")
	ctx := context.Background()
	if err := client.FillHistory(ctx, alice.c, wire.NewUserID(), 10_000, 100<<20); err != nil {
		b.Fatal(err)
	}
	key := client.NewRecoveryKey()
	if err := alice.c.SetBackup(ctx, client.BackupSecret{RecoveryKey: key}, false); err != nil {
		b.Fatal(err)
	}
	var backup, restore time.Duration
	var size int64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		st, err := alice.c.BackupNow(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		backup += time.Since(start)
		size = st.Size
		b.StopTimer()
		fresh := r.newIdleDevice("alice-new", alice.address)
		b.StartTimer()
		start = time.Now()
		stats, err := fresh.c.RestoreBackup(ctx, key, nil)
		if err != nil || stats.Messages != 10_000 || stats.MediaBytes != 100<<20 {
			b.Fatal(stats, err)
		}
		restore += time.Since(start)
		b.StopTimer()
		fresh.close()
		b.StartTimer()
	}
	b.ReportMetric(backup.Seconds()/float64(b.N), "backup-s")
	b.ReportMetric(restore.Seconds()/float64(b.N), "restore-s")
	b.ReportMetric(float64(size)/(1<<20), "backup-MB")
}

package dirtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Bench runs the directory's benchmarks: the calls on the message path
// (ContactState for every message, CommitOffsets in batches, the device
// lists and members of a large group) and the contended ones
// (ClaimBundle). open is called once per benchmark.
func Bench(b *testing.B, open func(b *testing.B) directory.Directory) {
	b.Run("ContactState", func(b *testing.B) { benchContactState(b, open(b), false) })
	b.Run("ContactStateParallel", func(b *testing.B) { benchContactState(b, open(b), true) })
	b.Run("CommitOffsets100", func(b *testing.B) { benchCommitOffsets(b, open(b)) })
	b.Run("ClaimBundle", func(b *testing.B) { benchClaimBundle(b, open(b)) })
	b.Run("NoteRequest", func(b *testing.B) { benchNoteRequest(b, open(b)) })
	b.Run("TakeLimitParallel", func(b *testing.B) { benchTakeLimit(b, open(b)) })
	b.Run("Devices1000", func(b *testing.B) { benchDevices(b, open(b), false) })
	b.Run("DeviceIDs1000", func(b *testing.B) { benchDevices(b, open(b), true) })
	b.Run("GroupMembers1024", func(b *testing.B) { benchGroupMembers(b, open(b)) })
}

// benchDevices reads the device lists of 1,000 users with two devices
// each, as the gateway checks a Send to a large group: one user at a
// time (Devices), or all at once (DeviceIDs).
func benchDevices(b *testing.B, d directory.Directory, batch bool) {
	ctx := context.Background()
	users := make([]wire.UserID, 1000)
	for i := range users {
		users[i], _ = newDevice(b, d)
		if _, err := d.AddDevice(ctx, users[i], "laptop", randomBytes(32), 0); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if batch {
			got, err := d.DeviceIDs(ctx, users)
			if err != nil || len(got) != len(users) {
				b.Fatalf("DeviceIDs: %d users, %v", len(got), err)
			}
			continue
		}
		for _, u := range users {
			if devs, err := d.Devices(ctx, u); err != nil || len(devs) != 2 {
				b.Fatalf("Devices: %d, %v", len(devs), err)
			}
		}
	}
}

// benchGroupMembers reads the joined members of a full group, as the
// router does for a group's messages when its cache has expired.
func benchGroupMembers(b *testing.B, d directory.Directory) {
	ctx := context.Background()
	s := newSecrets()
	g := newGroupID()
	users := make([]wire.UserID, wire.MaxGroupMembers)
	for i := range users {
		users[i] = newUser(b, d)
	}
	if err := d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupCreate, Actor: users[0], Users: users[1:], Hashes: s.hashes()}, groupLimits); err != nil {
		b.Fatal(err)
	}
	for _, u := range users[1:] {
		if err := d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupJoin, Actor: u}, groupLimits); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if got, err := d.GroupMembers(ctx, g); err != nil || len(got) != len(users) {
			b.Fatalf("GroupMembers: %d, %v", len(got), err)
		}
	}
}

// benchTakeLimit charges the buckets of 1,000 accounts from parallel
// callers, as gateways do for every request.
func benchTakeLimit(b *testing.B, d directory.Directory) {
	ctx := context.Background()
	s := d.Limits()
	r := limit.PerSecond(1e6, 1e6)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("send/user/%032x", i)
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, _, err := s.Take(ctx, keys[i%int64(len(keys))], r, 1, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchContactState looks up decisions of one owner about 1,000 others,
// half of them with no entry (the answer the router gets for requests).
func benchContactState(b *testing.B, d directory.Directory, parallel bool) {
	ctx := context.Background()
	owner := newUser(b, d)
	others := make([]wire.UserID, 1000)
	for i := range others {
		others[i] = wire.NewUserID()
		if i%2 == 0 {
			others[i] = newUser(b, d)
			if err := d.SetContact(ctx, owner, others[i], directory.Allowed, len(others)); err != nil {
				b.Fatal(err)
			}
		}
	}
	if !parallel {
		i := 0
		for b.Loop() {
			if _, err := d.ContactState(ctx, owner, others[i%len(others)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		return
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := d.ContactState(ctx, owner, others[i%len(others)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// benchCommitOffsets commits batches of 100 devices' offsets, as the
// gateway does periodically.
func benchCommitOffsets(b *testing.B, d directory.Directory) {
	ctx := context.Background()
	batch := make([]directory.DeviceOffset, 100)
	for i := range batch {
		u, dev := newDevice(b, d)
		batch[i] = directory.DeviceOffset{User: u, Device: dev}
	}
	now := time.Now()
	n := int64(0)
	for b.Loop() {
		n++
		for i := range batch {
			batch[i].Offset = n
			batch[i].Seen = now.Add(time.Duration(n))
		}
		if err := d.CommitOffsets(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClaimBundle claims bundles with one-time keys, refilling the pools
// (untimed) every 500 claims.
func benchClaimBundle(b *testing.B, d directory.Directory) {
	ctx := context.Background()
	const refill = 500
	u, dev := newDevice(b, d)
	signed, lastResort := prekey(1, true), prekey(2, true)
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Identity: randomBytes(32), Signed: &signed, KEMLastResort: &lastResort}); err != nil {
		b.Fatal(err)
	}
	next := uint32(1)
	left := 0
	for b.Loop() {
		if left == 0 {
			b.StopTimer()
			k := directory.Keys{OneTime: pool(next, refill, false), KEMOneTime: pool(next, refill, true)}
			if err := d.PublishKeys(ctx, u, dev, k); err != nil {
				b.Fatal(err)
			}
			next += refill
			left = refill
			b.StartTimer()
		}
		bd, err := d.ClaimBundle(ctx, u, dev)
		if err != nil {
			b.Fatal(err)
		}
		if bd.OneTime == nil || bd.KEMIsLastResort {
			b.Fatal("pool ran dry")
		}
		left--
	}
}

// benchNoteRequest records contact requests from many senders.
func benchNoteRequest(b *testing.B, d directory.Directory) {
	ctx := context.Background()
	lim := directory.RequestLimits{PairWindow: 24 * time.Hour, PerSender: 20, SenderWindow: 24 * time.Hour}
	senders := make([]wire.UserID, 1000)
	for i := range senders {
		senders[i] = wire.NewUserID()
	}
	now := time.Now()
	i := 0
	for b.Loop() {
		if _, err := d.NoteRequest(ctx, senders[i%len(senders)], wire.NewUserID(), wire.NewMessageID(), now.Add(time.Duration(i)*time.Second), lim); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

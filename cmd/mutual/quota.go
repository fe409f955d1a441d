package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/mutualcoop/mutual/relay/gateway"
)

// quotaFlags are the per-account quotas and the free-disk threshold of
// `mutual serve`. A zero turns that limit off.
type quotaFlags struct {
	bytesDay    byteSize
	messagesDay int64
	rate        byteSize
	burst       byteSize
	readRate    byteSize
	minFree     byteSize
	minFreePct  float64
}

func (q *quotaFlags) register(fs *flag.FlagSet) {
	q.bytesDay, q.rate, q.burst, q.minFree = gateway.DefaultBytesPerDay, gateway.DefaultByteRate, gateway.DefaultByteBurst, 1<<30
	q.readRate = gateway.DefaultReadRate
	fs.Var(&q.bytesDay, "quota-bytes-day", "ciphertext one account may send a day, such as 256MiB (0: no limit)")
	fs.Int64Var(&q.messagesDay, "quota-messages-day", gateway.DefaultMessagesPerDay, "messages one account may send a day (0: no limit)")
	fs.Var(&q.rate, "quota-rate", "ciphertext one account may send a second, sustained, such as 256KiB (0: no limit)")
	fs.Var(&q.burst, "quota-burst", "ciphertext one account may send at once, at least 512KiB")
	fs.Var(&q.readRate, "quota-read-rate", "ciphertext of one account's messages, stored or refused, read a second before its connections wait (0: no limit)")
	fs.Var(&q.minFree, "min-free-disk", "refuse messages while the data directory's disk has less free space than this, such as 1GiB (0: never)")
	fs.Float64Var(&q.minFreePct, "min-free-disk-percent", 2, "... or less than this percentage of its size, whichever is larger")
}

// apply sets the quotas and the threshold in a gateway configuration.
func (q *quotaFlags) apply(c *gateway.Config) {
	off := func(v int64) int64 {
		if v == 0 {
			return -1
		}
		return v
	}
	c.Quota = gateway.Quota{
		MessagesPerDay: off(q.messagesDay), BytesPerDay: off(int64(q.bytesDay)),
		ByteRate: float64(off(int64(q.rate))), ByteBurst: int64(q.burst),
		ReadRate: float64(off(int64(q.readRate))),
	}
	c.MinFreeBytes, c.MinFreePercent = off(int64(q.minFree)), q.minFreePct
	if q.minFreePct == 0 {
		c.MinFreePercent = -1
	}
}

// byteSize is a flag holding a number of bytes, written with an optional
// unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1},
	}
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return fmt.Errorf("%q is not a size such as 512KiB or 1GiB", s)
	}
	*b = byteSize(n * float64(mult))
	return nil
}

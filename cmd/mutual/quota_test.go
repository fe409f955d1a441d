package main

import (
	"flag"
	"io"
	"testing"

	"github.com/mutualcoop/mutual/relay/gateway"
)

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "512", want: 512},
		{in: "512KiB", want: 512 << 10},
		{in: "1.5 GiB", want: 3 << 29},
		{in: "256mib", want: 256 << 20},
		{in: "2GB", want: 2e9},
		{in: "0", want: 0},
		{in: "-1MiB", bad: true},
		{in: "lots", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		var b byteSize
		err := b.Set(tt.in)
		if (err != nil) != tt.bad || !tt.bad && int64(b) != tt.want {
			t.Errorf("Set(%q) = %d, %v; want %d (error %v)", tt.in, b, err, tt.want, tt.bad)
		}
	}
}

func TestQuotaFlags(t *testing.T) {
	parse := func(args ...string) gateway.Config {
		t.Helper()
		var q quotaFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		q.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var c gateway.Config
		q.apply(&c)
		return c
	}
	c := parse()
	if c.Quota.BytesPerDay != 256<<20 || c.Quota.MessagesPerDay != 100_000 || c.Quota.ByteRate != 256<<10 || c.Quota.ByteBurst != 16<<20 || c.Quota.ReadRate != 1<<20 || c.MinFreeBytes != 1<<30 || c.MinFreePercent != 2 {
		t.Errorf("defaults: %+v, free %d %v", c.Quota, c.MinFreeBytes, c.MinFreePercent)
	}
	c = parse("--quota-bytes-day", "0", "--quota-rate", "0", "--quota-messages-day", "0", "--quota-read-rate", "0", "--min-free-disk", "0", "--min-free-disk-percent", "0")
	if c.Quota.BytesPerDay >= 0 || c.Quota.ReadRate >= 0 || c.Quota.MessagesPerDay >= 0 || c.Quota.ByteRate >= 0 || c.MinFreeBytes >= 0 || c.MinFreePercent >= 0 {
		t.Errorf("zeros turn limits off: %+v, free %d %v", c.Quota, c.MinFreeBytes, c.MinFreePercent)
	}
}

package directory

import (
	"errors"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

func TestKeysValidate(t *testing.T) {
	pk := func(id uint32, pub, sig string) Prekey {
		p := Prekey{ID: id}
		if pub != "" {
			p.Public = []byte(pub)
		}
		if sig != "" {
			p.Signature = []byte(sig)
		}
		return p
	}
	ptr := func(p Prekey) *Prekey { return &p }
	tests := []struct {
		name string
		k    Keys
		ok   bool
	}{
		{"empty", Keys{}, true},
		{"full", Keys{
			Identity: []byte("id"), Signed: ptr(pk(1, "pub", "sig")), KEMLastResort: ptr(pk(2, "pub", "sig")),
			OneTime: []Prekey{pk(1, "a", ""), pk(2, "b", "")}, KEMOneTime: []Prekey{pk(1, "a", "s"), pk(2, "b", "s")},
		}, true},
		{"same ID in both pools", Keys{OneTime: []Prekey{pk(1, "a", "")}, KEMOneTime: []Prekey{pk(1, "a", "s")}}, true},
		{"signed without public key", Keys{Signed: ptr(pk(1, "", "sig"))}, false},
		{"signed without signature", Keys{Signed: ptr(pk(1, "pub", ""))}, false},
		{"last resort without signature", Keys{KEMLastResort: ptr(pk(1, "pub", ""))}, false},
		{"one-time without public key", Keys{OneTime: []Prekey{pk(1, "", "")}}, false},
		{"KEM one-time without signature", Keys{KEMOneTime: []Prekey{pk(1, "pub", "")}}, false},
		{"duplicate one-time", Keys{OneTime: []Prekey{pk(1, "a", ""), pk(1, "b", "")}}, false},
		{"duplicate KEM one-time", Keys{KEMOneTime: []Prekey{pk(7, "a", "s"), pk(7, "b", "s")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.k.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestRequestLimitsValidate(t *testing.T) {
	tests := []struct {
		name string
		l    RequestLimits
		ok   bool
	}{
		{"zero", RequestLimits{}, true},
		{"usual", RequestLimits{PairWindow: time.Hour, PerSender: 20, SenderWindow: 24 * time.Hour}, true},
		{"negative window", RequestLimits{PairWindow: -1}, false},
		{"negative count", RequestLimits{PerSender: -1}, false},
		{"negative sender window", RequestLimits{SenderWindow: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.l.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestContactState(t *testing.T) {
	tests := []struct {
		s     ContactState
		valid bool
		str   string
	}{
		{None, true, "none"},
		{Allowed, true, "allowed"},
		{Blocked, true, "blocked"},
		{ContactState(3), false, "ContactState(3)"},
		{ContactState(-1), false, "ContactState(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			if tt.s.Valid() != tt.valid || tt.s.String() != tt.str {
				t.Fatalf("Valid = %v, String = %q", tt.s.Valid(), tt.s.String())
			}
		})
	}
}

func TestCheckHash(t *testing.T) {
	if err := CheckHash("address hash", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CheckHash(nil) = %v", err)
	}
	if err := CheckHash("address hash", []byte{1}); err != nil {
		t.Fatalf("CheckHash = %v", err)
	}
}

func TestMergeOffsets(t *testing.T) {
	a := wire.UserID{1}
	b := wire.UserID{2}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	got := MergeOffsets([]DeviceOffset{
		{User: b, Device: 1, Offset: 5, Seen: t0},
		{User: a, Device: 2, Offset: 9, Seen: t0.Add(time.Second)},
		{User: a, Device: 2, Offset: 7, Seen: t0.Add(2 * time.Second)},
		{User: a, Device: 1, Offset: 1},
		{User: b, Device: 1, Offset: 3, Seen: t0.Add(time.Hour)},
	})
	want := []DeviceOffset{
		{User: a, Device: 1, Offset: 1},
		{User: a, Device: 2, Offset: 9, Seen: t0.Add(2 * time.Second)},
		{User: b, Device: 1, Offset: 5, Seen: t0.Add(time.Hour)},
	}
	if len(got) != len(want) {
		t.Fatalf("MergeOffsets = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].User != want[i].User || got[i].Device != want[i].Device || got[i].Offset != want[i].Offset || !got[i].Seen.Equal(want[i].Seen) {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(MergeOffsets(nil)) != 0 {
		t.Error("MergeOffsets(nil) not empty")
	}
}

package directory

import "fmt"

// Validate reports whether k can be stored: every key has a public part,
// signed keys (Signed, KEMLastResort, KEMOneTime) have a signature, and the
// one-time keys of each pool have distinct IDs, and a vouch names its
// device and has a signature. The errors wrap ErrInvalid.
func (k Keys) Validate() error {
	if k.Signed != nil {
		if err := k.Signed.check("signed prekey", true); err != nil {
			return err
		}
	}
	if k.KEMLastResort != nil {
		if err := k.KEMLastResort.check("last-resort KEM prekey", true); err != nil {
			return err
		}
	}
	if err := checkPool("one-time prekey", k.OneTime, false); err != nil {
		return err
	}
	if v := k.Vouch; v != nil && (v.Device == 0 || len(v.Signature) == 0) {
		return fmt.Errorf("%w: vouch without a device or signature", ErrInvalid)
	}
	return checkPool("one-time KEM prekey", k.KEMOneTime, true)
}

func (p *Prekey) check(what string, signed bool) error {
	if len(p.Public) == 0 {
		return fmt.Errorf("%w: %s %d has no public key", ErrInvalid, what, p.ID)
	}
	if signed && len(p.Signature) == 0 {
		return fmt.Errorf("%w: %s %d has no signature", ErrInvalid, what, p.ID)
	}
	return nil
}

func checkPool(what string, pool []Prekey, signed bool) error {
	seen := make(map[uint32]bool, len(pool))
	for i := range pool {
		if err := pool[i].check(what, signed); err != nil {
			return err
		}
		if seen[pool[i].ID] {
			return fmt.Errorf("%w: %s %d published twice", ErrInvalid, what, pool[i].ID)
		}
		seen[pool[i].ID] = true
	}
	return nil
}

// Validate reports whether l is usable: no negative field. The error wraps
// ErrInvalid.
func (l RequestLimits) Validate() error {
	if l.PairWindow < 0 || l.PerSender < 0 || l.SenderWindow < 0 {
		return fmt.Errorf("%w: negative request limit", ErrInvalid)
	}
	return nil
}

// Valid reports whether s is one of None, Allowed and Blocked.
func (s ContactState) Valid() bool { return s >= None && s <= Blocked }

func (s ContactState) String() string {
	switch s {
	case None:
		return "none"
	case Allowed:
		return "allowed"
	case Blocked:
		return "blocked"
	}
	return fmt.Sprintf("ContactState(%d)", int(s))
}

// CheckHash returns an error wrapping ErrInvalid when a hash (of an
// address, a code or a credential) is empty; what names it in the message.
// Implementations call it on their inputs.
func CheckHash(what string, h []byte) error {
	if len(h) == 0 {
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	}
	return nil
}

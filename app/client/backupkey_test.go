package client

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/relay/wire"
)

func TestNewRecoveryKey(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 50 {
		k := NewRecoveryKey()
		if len(k) != RecoveryKeyLen || strings.Trim(k, recoveryAlphabet) != "" {
			t.Fatalf("recovery key %q", k)
		}
		if seen[k] {
			t.Fatal("the same recovery key twice")
		}
		seen[k] = true
		for _, r := range k {
			counts[r]++
		}
		if n, err := normalRecoveryKey(strings.ToUpper(FormatRecoveryKey(k))); err != nil || n != k {
			t.Fatalf("normalRecoveryKey(formatted) = %q, %v", n, err)
		}
	}
	// 3,200 characters: every one of the 36 is drawn.
	if len(counts) != len(recoveryAlphabet) {
		t.Fatalf("%d distinct characters drawn", len(counts))
	}
}

func TestFormatRecoveryKey(t *testing.T) {
	k := strings.Repeat("abcd", 16)
	got := FormatRecoveryKey(k)
	if got != strings.TrimSpace(strings.Repeat("abcd ", 16)) {
		t.Fatalf("FormatRecoveryKey = %q", got)
	}
}

func TestNormalRecoveryKey(t *testing.T) {
	good := strings.Repeat("0a1b", 16)
	for name, typed := range map[string]string{
		"as is":      good,
		"upper case": strings.ToUpper(good),
		"grouped":    FormatRecoveryKey(good),
		"hyphens":    strings.ReplaceAll(FormatRecoveryKey(good), " ", "-"),
		"lines":      good[:32] + "\n" + good[32:] + "\n",
	} {
		if n, err := normalRecoveryKey(typed); err != nil || n != good {
			t.Errorf("%s: %q, %v", name, n, err)
		}
	}
	for name, typed := range map[string]string{
		"short":       good[:63],
		"long":        good + "0",
		"punctuation": good[:63] + "!",
		"non-ASCII":   good[:63] + "é",
		"empty":       "",
	} {
		if _, err := normalRecoveryKey(typed); !errors.Is(err, ErrBackupSecret) {
			t.Errorf("%s: %v, want ErrBackupSecret", name, err)
		}
	}
}

// TestRecoveryKeyDerivation: the key a recovery key derives is
// HKDF-SHA256 of its characters with info "Mutual backup key v1", no
// salt. The expected value was computed apart, with Python's hmac:
//
//	prk = hmac.new(b'\0'*32, ikm, sha256).digest()
//	hmac.new(prk, b'Mutual backup key v1\x01', sha256).hexdigest()
func TestRecoveryKeyDerivation(t *testing.T) {
	const rk = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqr"
	key, err := newBackupKDF(false).derive(strings.ToUpper(FormatRecoveryKey(rk)))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(key); got != "dd54e82276789e3cc64d8790453a8f2621f324e774e287b3906e832bbb9b7c29" {
		t.Fatalf("derived %s", got)
	}
}

func TestPassphraseDerivation(t *testing.T) {
	kdf := newBackupKDF(true)
	if kdf.method != kdfArgon2id || len(kdf.salt) != argonSaltLen || kdf.time != 3 || kdf.memory != 64<<10 || kdf.threads != 1 {
		t.Fatalf("passphrase derivation %+v", kdf)
	}
	a, err := kdf.derive("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := kdf.derive("correct horse battery")
	c, _ := kdf.derive("correct horse batterx")
	if !bytes.Equal(a, b) || bytes.Equal(a, c) || len(a) != backupKeyLen {
		t.Fatal("Argon2id derivation is not a function of the passphrase")
	}
	other, _ := newBackupKDF(true).derive("correct horse battery")
	if bytes.Equal(a, other) {
		t.Fatal("two salts gave one key")
	}
	if _, err := kdf.derive("eleven char"); !errors.Is(err, ErrBackupSecret) {
		t.Fatalf("11-character passphrase: %v", err)
	}
	if _, err := kdf.derive("ééééééééééé"); !errors.Is(err, ErrBackupSecret) {
		t.Fatalf("11 characters in 22 bytes: %v", err)
	}
}

func TestSealBackup(t *testing.T) {
	user, other := wire.NewUserID(), wire.NewUserID()
	plain := []byte("a history blob's bytes")
	for _, passphrase := range []bool{false, true} {
		kdf := newBackupKDF(passphrase)
		secret := NewRecoveryKey()
		if passphrase {
			secret = "a long enough passphrase"
		}
		key, err := kdf.derive(secret)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := sealBackup(key, kdf, user, plain)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, plain) {
			t.Fatal("the sealed backup holds its plaintext")
		}
		s, err := parseSealedBackup(sealed)
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.kdf.derive(secret)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.open(again, user); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("open = %q, %v", got, err)
		}
		want := ErrWrongRecoveryKey
		wrong := NewRecoveryKey()
		if passphrase {
			want, wrong = ErrWrongPassphrase, "another long passphrase"
		}
		wk, err := s.kdf.derive(wrong)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.open(wk, user); !errors.Is(err, want) {
			t.Fatalf("wrong secret: %v, want %v", err, want)
		}
		if _, err := s.open(again, other); !errors.Is(err, want) {
			t.Fatalf("another account's: %v, want %v", err, want)
		}
	}
}

func TestParseSealedBackupRefuses(t *testing.T) {
	user := wire.NewUserID()
	key, _ := newBackupKDF(false).derive(NewRecoveryKey())
	good, err := sealBackup(key, newBackupKDF(false), user, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseSealedBackup(good); err != nil {
		t.Fatal(err)
	}
	tooMuch := backupKDF{method: kdfArgon2id, salt: make([]byte, argonSaltLen), time: 3, memory: 1 << 30, threads: 1}
	heavy, _ := sealBackup(key, tooMuch, user, []byte("x"))
	unknown, _ := sealBackup(key, backupKDF{method: 9}, user, []byte("x"))
	for name, b := range map[string][]byte{
		"empty":            nil,
		"garbage":          []byte("\xff\xff\xff"),
		"cut":              good[:len(good)-3],
		"argon2 too heavy": heavy,
		"unknown method":   unknown,
	} {
		if _, err := parseSealedBackup(b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
}

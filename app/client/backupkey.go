package client

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Backup keys. A backup is opened by a secret only the person holds:
// a recovery key the device made (NewRecoveryKey) or a passphrase they
// chose. The secret derives a 32-byte AES-256-GCM key; the key seals the
// archive's HistoryBlob (the blob's ID, its own random key, digest and
// size), and what is sealed goes to the relay as Backup.sealed with the
// description of the derivation. docs/crypto.md, "Backups", has the
// reasons for each choice.

const (
	// RecoveryKeyLen is the length of a recovery key: 64 characters of
	// [0-9a-z], 330 bits.
	RecoveryKeyLen = 64
	// MinPassphrase is the fewest characters a backup passphrase has.
	MinPassphrase = 12

	recoveryAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	backupKeyInfo    = "Mutual backup key v1"
	backupAAD        = "Mutual backup v1"
	backupKeyLen     = 32

	// Argon2id's parameters for a passphrase (OWASP's minimum for
	// Argon2id with 64 MiB), and the most an opened backup may ask for:
	// a relay cannot make a device spend more.
	argonTime, argonMemory, argonThreads = 3, 64 << 10, 1 // memory in KiB
	argonSaltLen                         = 16
	maxArgonTime, maxArgonMemory         = 10, 256 << 10
	maxArgonThreads                      = 4
)

// How a backup's key is derived (sealedBackup.kdf).
const (
	kdfRecovery = 1 // HKDF-SHA256 of the recovery key
	kdfArgon2id = 2 // Argon2id of the passphrase, then HKDF-SHA256
)

var (
	// ErrBackupSecret: a BackupSecret must hold exactly one of a
	// recovery key (RecoveryKeyLen characters of [0-9a-z], spaces and
	// hyphens aside) and a passphrase of at least MinPassphrase
	// characters.
	ErrBackupSecret = errors.New("client: give either a recovery key of 64 letters and digits or a passphrase of at least 12 characters")
	// ErrWrongRecoveryKey: the recovery key (or passphrase) given does
	// not open the account's backup. Nothing was imported.
	ErrWrongRecoveryKey = errors.New("client: the recovery key does not open this backup")
	// ErrWrongPassphrase: as ErrWrongRecoveryKey, for a backup sealed
	// with a passphrase.
	ErrWrongPassphrase = errors.New("client: the passphrase does not open this backup")
)

// NewRecoveryKey returns a new recovery key: RecoveryKeyLen characters
// drawn uniformly from [0-9a-z] with crypto/rand (330 bits). Show it
// once (FormatRecoveryKey) and keep it nowhere: SetBackup keeps only
// the key derived from it.
func NewRecoveryKey() string {
	var b strings.Builder
	b.Grow(RecoveryKeyLen)
	buf := make([]byte, 2*RecoveryKeyLen)
	for b.Len() < RecoveryKeyLen {
		rand.Read(buf)
		for _, x := range buf {
			// 252 = 7 × 36: taking only bytes below it keeps the
			// draw uniform.
			if x < 252 && b.Len() < RecoveryKeyLen {
				b.WriteByte(recoveryAlphabet[x%36])
			}
		}
	}
	return b.String()
}

// FormatRecoveryKey writes a recovery key in groups of four characters
// separated by spaces, as it is shown to be written down.
func FormatRecoveryKey(key string) string {
	k, err := normalRecoveryKey(key)
	if err != nil {
		k = key
	}
	var b strings.Builder
	for i := 0; i < len(k); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k[i:min(i+4, len(k))])
	}
	return b.String()
}

// normalRecoveryKey reads a typed recovery key: spaces and hyphens are
// dropped and letters lowered; what is left must be RecoveryKeyLen
// characters of the alphabet.
func normalRecoveryKey(typed string) (string, error) {
	var b strings.Builder
	for _, r := range typed {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\n' || r == '\r':
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r - 'A' + 'a')
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", ErrBackupSecret
		}
	}
	if b.Len() != RecoveryKeyLen {
		return "", ErrBackupSecret
	}
	return b.String(), nil
}

// checkPassphrase refuses a passphrase shorter than MinPassphrase
// characters or not UTF-8.
func checkPassphrase(p string) error {
	if !utf8.ValidString(p) || utf8.RuneCountInString(p) < MinPassphrase {
		return ErrBackupSecret
	}
	return nil
}

// backupKDF describes how a backup's key is derived from the secret: the
// method, and for Argon2id its salt and parameters.
type backupKDF struct {
	method  uint32
	salt    []byte
	time    uint32
	memory  uint32 // KiB
	threads uint32
}

// newBackupKDF is the derivation for a fresh secret: HKDF for a recovery
// key, Argon2id with a random salt and the fixed parameters for a
// passphrase.
func newBackupKDF(passphrase bool) backupKDF {
	if !passphrase {
		return backupKDF{method: kdfRecovery}
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	return backupKDF{method: kdfArgon2id, salt: salt, time: argonTime, memory: argonMemory, threads: argonThreads}
}

// check refuses a derivation this build does not make, or one that asks
// for more work than it would ever choose.
func (k backupKDF) check() error {
	switch k.method {
	case kdfRecovery:
		if len(k.salt) != 0 || k.time != 0 || k.memory != 0 || k.threads != 0 {
			return fmt.Errorf("%w: recovery-key derivation with parameters", errMalformed)
		}
	case kdfArgon2id:
		if len(k.salt) != argonSaltLen || k.time < 1 || k.time > maxArgonTime ||
			k.memory < 8*k.threads || k.memory > maxArgonMemory || k.threads < 1 || k.threads > maxArgonThreads {
			return fmt.Errorf("%w: Argon2id parameters out of bounds", errMalformed)
		}
	default:
		return fmt.Errorf("%w: unknown key derivation %d", errMalformed, k.method)
	}
	return nil
}

// derive turns the secret into the backup key: the recovery key's
// characters, or Argon2id's output for a passphrase, are the input of
// HKDF-SHA256 with info "Mutual backup key v1". The secret must suit the
// method (ErrBackupSecret).
func (k backupKDF) derive(secret string) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	var root []byte
	switch k.method {
	case kdfRecovery:
		rk, err := normalRecoveryKey(secret)
		if err != nil {
			return nil, err
		}
		root = []byte(rk)
	case kdfArgon2id:
		if err := checkPassphrase(secret); err != nil {
			return nil, err
		}
		root = argon2.IDKey([]byte(secret), k.salt, k.time, k.memory, uint8(k.threads), backupKeyLen)
	}
	return hkdf.Key(sha256.New, root, nil, backupKeyInfo, backupKeyLen)
}

// wrongKey is the error of a secret that does not open a backup derived
// with k.
func (k backupKDF) wrongKey() error {
	if k.method == kdfArgon2id {
		return ErrWrongPassphrase
	}
	return ErrWrongRecoveryKey
}

// Fields of the sealed backup (Backup.sealed), field 15 the format
// version.
const (
	sbKDF     = 1 // uint: kdfRecovery or kdfArgon2id
	sbSalt    = 2 // bytes: Argon2id's salt
	sbTime    = 3 // uint: Argon2id's passes
	sbMemory  = 4 // uint: Argon2id's memory, KiB
	sbThreads = 5 // uint: Argon2id's lanes
	sbNonce   = 6 // bytes: 12, AES-GCM's nonce
	sbBox     = 7 // bytes: AES-256-GCM of the HistoryBlob
)

// maxSealedBox bounds the ciphertext an opened backup may carry.
const maxSealedBox = wire.MaxBackupSealed

// sealBackup encrypts plain (a HistoryBlob's Marshal) under key with a
// fresh nonce and the additional data "Mutual backup v1" || user, and
// writes the sealed backup with the derivation kdf.
func sealBackup(key []byte, kdf backupKDF, user wire.UserID, plain []byte) ([]byte, error) {
	aead, err := backupAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	e := newEnc()
	e.uint(sbKDF, uint64(kdf.method))
	e.bytes(sbSalt, kdf.salt)
	e.uint(sbTime, uint64(kdf.time))
	e.uint(sbMemory, uint64(kdf.memory))
	e.uint(sbThreads, uint64(kdf.threads))
	e.bytes(sbNonce, nonce)
	e.bytes(sbBox, aead.Seal(nil, nonce, plain, backupAdditional(user)))
	if len(e.b) > wire.MaxBackupSealed {
		return nil, fmt.Errorf("sealed backup of %d bytes", len(e.b))
	}
	return e.b, nil
}

// sealedBackup is a parsed Backup.sealed.
type sealedBackup struct {
	kdf   backupKDF
	nonce []byte
	box   []byte
}

// parseSealedBackup reads what sealBackup wrote, refusing what is
// malformed or asks for too much work.
func parseSealedBackup(b []byte) (sealedBackup, error) {
	var s sealedBackup
	err := decodeRecord(b, func(f field) error {
		var err error
		switch f.num {
		case sbKDF:
			s.kdf.method, err = f.uint32()
		case sbSalt:
			s.kdf.salt, err = f.copyBytes(argonSaltLen)
		case sbTime:
			s.kdf.time, err = f.uint32()
		case sbMemory:
			s.kdf.memory, err = f.uint32()
		case sbThreads:
			s.kdf.threads, err = f.uint32()
		case sbNonce:
			s.nonce, err = f.copyBytes(12)
		case sbBox:
			s.box, err = f.copyBytes(maxSealedBox)
		}
		return err
	})
	if err == nil {
		err = s.kdf.check()
	}
	if err == nil && (len(s.nonce) != 12 || len(s.box) < 16) {
		err = fmt.Errorf("%w: sealed backup without its nonce or ciphertext", errMalformed)
	}
	if err != nil {
		return sealedBackup{}, fmt.Errorf("sealed backup: %w", err)
	}
	return s, nil
}

// open decrypts the sealed bytes with key; a wrong key (or bytes
// changed) fails with the derivation's wrongKey error.
func (s sealedBackup) open(key []byte, user wire.UserID) ([]byte, error) {
	aead, err := backupAEAD(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, s.nonce, s.box, backupAdditional(user))
	if err != nil {
		return nil, s.kdf.wrongKey()
	}
	return plain, nil
}

func backupAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	return cipher.NewGCM(block)
}

// backupAdditional is the additional data of a sealed backup: the
// backup's purpose and the account, so that a sealed backup of another
// account (or for another use) does not open as this one's.
func backupAdditional(user wire.UserID) []byte {
	return append([]byte(backupAAD), user[:]...)
}

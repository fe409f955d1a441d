package push_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/relay/push"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// TestLoadKey: the key is created once, mode 0600, and read back the
// same.
func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "push-vapid.key")
	k1, err := push.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := push.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.PublicKey(), k2.PublicKey()) || len(k1.PublicKey()) != 65 || k1.PublicKey()[0] != 4 {
		t.Fatalf("keys %x and %x", k1.PublicKey(), k2.PublicKey())
	}
	b, _ := os.ReadFile(path)
	if !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Fatal("not a PKCS#8 PEM file")
	}
	if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := push.LoadKey(path); err == nil {
		t.Fatal("a damaged key file was read")
	}
}

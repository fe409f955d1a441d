package push_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/internal/pushtest"
	"github.com/mutualcoop/mutual/relay/push"
)

// EnvWebPush names the node_modules directory that holds the npm web-push
// package; by default <repo>/.cache/webpush/node_modules, where
// scripts/deps.sh test installs it.
const EnvWebPush = "MUTUAL_TEST_WEBPUSH"

// webPush returns node and the node_modules directory of web-push. It
// skips t when either is missing, except in CI (CI set), where it fails.
func webPush(t *testing.T) (node, modules string) {
	t.Helper()
	modules = os.Getenv(EnvWebPush)
	if modules == "" {
		modules = filepath.Join("..", "..", ".cache", "webpush", "node_modules")
	}
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(modules, "web-push", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no node or npm web-push in CI (scripts/deps.sh test installs it): %v", err)
		}
		t.Skipf("no node or npm web-push (scripts/deps.sh test installs it): %v", err)
	}
	abs, err := filepath.Abs(modules)
	if err != nil {
		t.Fatal(err)
	}
	return node, abs
}

// runWebPush runs testdata/webpush.js with one request and decodes its
// answer into out.
func runWebPush(t *testing.T, env []string, req map[string]string, out any) {
	t.Helper()
	node, modules := webPush(t)
	in, _ := json.Marshal(req)
	cmd := exec.Command(node, "testdata/webpush.js")
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+modules), env...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("web-push %s: %v\n%s%s", req["op"], err, stdout, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("web-push %s answered %q: %v", req["op"], stdout, err)
	}
}

// TestWebPushSendsToStandIn: pushes that web-push sends, the stand-in
// decrypts and takes (its VAPID token checked); so the stand-in's checks
// are those a real push service and browser make, not this package's
// reading of the RFCs.
func TestWebPushSendsToStandIn(t *testing.T) {
	webPush(t)
	st := pushtest.New(t)
	sub := st.Subscribe(t)
	key, err := push.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, st.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	payload := string(push.Payload([16]byte{0xab, 1}))
	var got struct {
		Status int
		Error  string
	}
	runWebPush(t, []string{"NODE_EXTRA_CA_CERTS=" + caFile}, map[string]string{
		"op": "send", "endpoint": sub.Endpoint, "p256dh": b64(sub.P256dh), "auth": b64(sub.Auth), "payload": payload,
		"vapidPublic": b64(key.PublicKey()), "vapidPrivate": b64(privateScalar(t, key)), "subject": "mailto:ops@example.org",
	}, &got)
	if got.Status != 201 {
		t.Fatalf("web-push got %d (%s), want 201", got.Status, got.Error)
	}
	pushes := st.Pushes()
	if len(pushes) != 1 || pushes[0].Err != nil || string(pushes[0].Plaintext) != payload || !bytes.Equal(pushes[0].Key, key.PublicKey()) {
		t.Fatalf("the stand-in received %+v", pushes)
	}
}

// TestWebPushEncryptionDecrypts: what web-push encrypts, the stand-in's
// receiving code (pushtest.Decrypt) opens; with TestEncryptDecrypts, both
// sides of the relay's tests agree with an independent implementation.
func TestWebPushEncryptionDecrypts(t *testing.T) {
	webPush(t)
	ua, err := ecdh.P256().GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	auth := bytes.Repeat([]byte{0x5a}, push.AuthSize)
	payload := `{"v":1,"c":"00112233445566778899aabbccddeeff"}`
	var got struct{ Body, Error string }
	runWebPush(t, nil, map[string]string{"op": "encrypt", "p256dh": b64(ua.PublicKey().Bytes()), "auth": b64(auth), "payload": payload}, &got)
	body, err := b64dec(got.Body)
	if err != nil || len(body) == 0 {
		t.Fatalf("web-push encrypt answered %+v", got)
	}
	plain, err := pushtest.Decrypt(body, ua, auth)
	if err != nil || string(plain) != payload {
		t.Fatalf("decrypted %q, %v; want %q", plain, err, payload)
	}
}

// privateScalar is the key's private scalar, as web-push takes it.
func privateScalar(t *testing.T, k *push.Key) []byte {
	t.Helper()
	b, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	e, err := priv.(*ecdsa.PrivateKey).ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return e.Bytes()
}

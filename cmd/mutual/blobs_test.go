package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/blob/s3blob"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestServeBlobsOnS3: with --s3-endpoint, the relay keeps attachments'
// blobs in the S3 bucket (here on the S3 server scripts/test.sh starts),
// creating it when missing, and serves them back. The keys come from the
// environment, never the command line.
func TestServeBlobsOnS3(t *testing.T) {
	endpoint, access, secret := os.Getenv("MUTUAL_TEST_S3_ENDPOINT"), os.Getenv("MUTUAL_TEST_S3_ACCESS_KEY"), os.Getenv("MUTUAL_TEST_S3_SECRET_KEY")
	if endpoint == "" || access == "" || secret == "" {
		t.Skip("no S3 server: set MUTUAL_TEST_S3_ENDPOINT, MUTUAL_TEST_S3_ACCESS_KEY and MUTUAL_TEST_S3_SECRET_KEY " +
			`(scripts/versitygw.sh start; eval "$(scripts/versitygw.sh env)"); scripts/test.sh does`)
	}
	const bucket = "mutual-serve-test"
	bin := filepath.Join(t.TempDir(), "mutual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "", "--data", t.TempDir(), "--log-format", "json",
		"--s3-endpoint", endpoint, "--s3-bucket", bucket, "--s3-path-style")
	cmd.Env = append(os.Environ(), "MUTUAL_S3_ACCESS_KEY="+access, "MUTUAL_S3_SECRET_KEY="+secret)
	stderr, codes := startDev(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	addr := waitForLog(ctx, t, stderr, regexp.MustCompile(`"addr":"http://([^"]+)"`))
	c, err := transport.Dial(ctx, "ws://"+addr+"/v1/ws", transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := signInDev(ctx, t, c, codes); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 3000)
	rand.Read(blob)
	g, err := transport.Call[*wire.UploadGrant](ctx, c, &wire.Upload{Size: uint64(len(blob))})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	url := "http://" + addr + "/v1/blobs/" + g.Blob.String()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, url, bytes.NewReader(blob))
	req.Header.Set("Authorization", fmt.Sprintf("Bearer %x", g.Token))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH: %s", resp.Status)
	}
	resp, err = http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, blob) {
		t.Fatalf("GET: %s, %d bytes, %v", resp.Status, len(got), err)
	}

	// The blob is in the bucket.
	store, err := s3blob.New(ctx, s3blob.Config{Endpoint: endpoint, Bucket: bucket, PathStyle: true, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	defer store.Delete(context.Background(), g.Blob)
	if info, err := store.Stat(ctx, g.Blob); err != nil || !info.Complete || info.Size != int64(len(blob)) {
		t.Fatalf("the blob in the bucket: %+v, %v", info, err)
	}
}

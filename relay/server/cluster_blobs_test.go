//go:build cluster

package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/blob/s3blob"
	"github.com/mutualcoop/mutual/relay/wire"
)

// clusterBucket is the S3 bucket the cluster tests keep blobs in; each
// run deletes the blobs it made.
const clusterBucket = "mutual-cluster-test"

// clusterS3 returns the S3 server's configuration from the environment
// (scripts/versitygw.sh env), failing the test when it is missing, and
// makes sure the test bucket exists.
func clusterS3(t *testing.T, ctx context.Context) (s3blob.Config, *s3blob.Store) {
	t.Helper()
	c := s3blob.Config{
		Endpoint:     os.Getenv("MUTUAL_TEST_S3_ENDPOINT"),
		AccessKey:    os.Getenv("MUTUAL_TEST_S3_ACCESS_KEY"),
		SecretKey:    os.Getenv("MUTUAL_TEST_S3_SECRET_KEY"),
		Bucket:       clusterBucket,
		PathStyle:    true,
		CreateBucket: true,
	}
	if c.Endpoint == "" || c.AccessKey == "" || c.SecretKey == "" {
		t.Fatal("MUTUAL_TEST_S3_ENDPOINT, MUTUAL_TEST_S3_ACCESS_KEY and MUTUAL_TEST_S3_SECRET_KEY must be set: " +
			`start the services with "make services-up", then eval "$(scripts/versitygw.sh env)"`)
	}
	s, err := s3blob.New(ctx, c)
	if err != nil {
		t.Fatalf("S3 server: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return c, s
}

// TestClusterBlobs: the cluster's gateways share attachments' blobs in
// an S3 bucket on a real S3 server. A device is granted an upload at
// gateway 1 and sends the blob's first bytes there over HTTP; the
// connection is cut in the middle of a part. Gateway 2 reports the
// offset where it stopped, takes the rest, and another device downloads
// the blob from gateway 1 and a range of it from gateway 2: the bytes
// are the ones sent.
func TestClusterBlobs(t *testing.T) {
	brokers, db := clusterServices(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s3c, store := clusterS3(t, ctx)
	cl := newClusterWith(t, ctx, brokers, db,
		[]string{"--s3-endpoint", s3c.Endpoint, "--s3-bucket", s3c.Bucket, "--s3-path-style"},
		[]string{"MUTUAL_S3_ACCESS_KEY=" + s3c.AccessKey, "MUTUAL_S3_SECRET_KEY=" + s3c.SecretKey})
	defer cl.stop(t)
	gw1, gw2 := cl.gateways[0], cl.gateways[1]

	alice := gw1.register(t, ctx, 200)
	conn, err := gw1.auth(ctx, alice.crashClient)
	if err != nil {
		t.Fatal(err)
	}
	// Two parts and a bit (s3blob's parts are 5 MiB), cut after one part
	// and a half.
	const size = 2*s3blob.PartSize + 12345
	const cut = s3blob.PartSize + s3blob.PartSize/2 + 7
	g, err := transport.Call[*wire.UploadGrant](ctx, conn, &wire.Upload{Size: size})
	conn.Close()
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	t.Cleanup(func() { store.Delete(context.Background(), g.Blob) })

	blobPatchCut(t, gw1.addr, g, 0, generated(3, size), cut)
	offset := blobHead(t, ctx, gw2.addr, g)
	if offset != cut {
		t.Fatalf("gateway 2 reports offset %d after a cut at %d on gateway 1", offset, cut)
	}
	rest := generated(3, size)
	if _, err := io.CopyN(io.Discard, rest, offset); err != nil {
		t.Fatal(err)
	}
	resp := blobDo(t, ctx, http.MethodPatch, gw2.addr, g.Blob, g.Token, offset, rest)
	wantStatus(t, resp, http.StatusNoContent)
	if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(size) {
		t.Fatalf("offset %s after the last PATCH, want %d", got, size)
	}

	// The blob is in the bucket, not in a gateway's files.
	if info, err := store.Stat(ctx, g.Blob); err != nil || !info.Complete || info.Size != size {
		t.Fatalf("the blob in the bucket: %+v, %v", info, err)
	}

	// Anyone with the blob's ID downloads it, at either gateway.
	resp = blobDo(t, ctx, http.MethodGet, gw1.addr, g.Blob, nil, 0, nil)
	wantStatus(t, resp, http.StatusOK)
	if digestOf(t, resp.Body) != digestOf(t, generated(3, size)) {
		t.Fatal("the blob downloaded from gateway 1 is not the bytes sent")
	}
	resp = blobDo(t, ctx, http.MethodGet, gw2.addr, g.Blob, nil, 0, nil, "Range", fmt.Sprintf("bytes=%d-%d", cut-10, cut+9))
	wantStatus(t, resp, http.StatusPartialContent)
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 20)
	src := generated(3, size)
	io.CopyN(io.Discard, src, cut-10)
	io.ReadFull(src, want)
	if !bytes.Equal(got, want) {
		t.Fatal("the range downloaded from gateway 2, across the cut, is not the bytes sent")
	}
}

// blobDo makes one request about a blob at a gateway, with the tus
// headers and the token when one is given, and more headers as pairs.
func blobDo(t *testing.T, ctx context.Context, method, addr string, id wire.BlobID, token []byte, offset int64, body io.Reader, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+"/v1/blobs/"+id.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	if token != nil {
		req.Header.Set("Authorization", fmt.Sprintf("Bearer %x", token))
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// blobHead is the upload's offset as a gateway's HEAD reports it.
func blobHead(t *testing.T, ctx context.Context, addr string, g *wire.UploadGrant) int64 {
	t.Helper()
	resp := blobDo(t, ctx, http.MethodHead, addr, g.Blob, g.Token, 0, nil)
	wantStatus(t, resp, http.StatusOK)
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		t.Fatalf("HEAD: Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	return n
}

// blobPatchCut sends a PATCH's headers and the first n bytes of body to
// a gateway on a connection of its own, then closes it: a connection cut
// in the middle. It returns once the gateway has closed its side.
func blobPatchCut(t *testing.T, addr string, g *wire.UploadGrant, offset int64, body io.Reader, n int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PATCH /v1/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %x\r\nTus-Resumable: 1.0.0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: %d\r\nContent-Length: %d\r\n\r\n", g.Blob, g.Token, offset, int64(g.Size)-offset)
	if _, err := io.CopyN(conn, body, n); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, conn)
}

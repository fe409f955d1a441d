package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/goleak"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/blob/blobtest"
	"github.com/mutualcoop/mutual/relay/wire"
)

// These tests need an S3 server; scripts/test.sh starts one. By hand:
//
//	scripts/versitygw.sh start
//	eval "$(scripts/versitygw.sh env)"
//	go test ./relay/blob/s3blob/
//
// Every test works in a bucket of its own, removed at the end.

// TestMain fails the run if a test leaves a goroutine behind: every
// store must close its connections.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testConfig is the server's configuration from the environment, or a
// skip that says how to get one.
func testConfig(t *testing.T) Config {
	t.Helper()
	c := Config{
		Endpoint:     os.Getenv("MUTUAL_TEST_S3_ENDPOINT"),
		AccessKey:    os.Getenv("MUTUAL_TEST_S3_ACCESS_KEY"),
		SecretKey:    os.Getenv("MUTUAL_TEST_S3_SECRET_KEY"),
		PathStyle:    true,
		CreateBucket: true,
	}
	if c.Endpoint == "" || c.AccessKey == "" || c.SecretKey == "" {
		t.Skip("no S3 server: set MUTUAL_TEST_S3_ENDPOINT, MUTUAL_TEST_S3_ACCESS_KEY and MUTUAL_TEST_S3_SECRET_KEY " +
			`(scripts/versitygw.sh start; eval "$(scripts/versitygw.sh env)"); scripts/test.sh does`)
	}
	b := make([]byte, 8)
	rand.Read(b)
	c.Bucket = "mutual-test-" + hex.EncodeToString(b)
	return c
}

// newStore opens a store on a new bucket and removes the bucket when
// the test ends.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.Context(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeBucket(s); err != nil {
			t.Errorf("remove the test's bucket: %v", err)
		}
		s.Close()
	})
	return s
}

// removeBucket aborts the multipart uploads of s's bucket, deletes its
// objects, then the bucket.
func removeBucket(s *Store) error {
	ctx := context.Background()
	mps, err := s.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &s.bucket})
	if err != nil {
		return err
	}
	for _, u := range mps.Uploads {
		if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
			return err
		}
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: o.Key}); err != nil {
				return err
			}
		}
	}
	_, err = s.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &s.bucket})
	return err
}

func TestConformance(t *testing.T) {
	testConfig(t)
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
}

// TestCrashBeforeComplete: an upload whose parts are all in, stopped
// before the multipart upload was completed, is complete.
func TestCrashBeforeComplete(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := wire.NewBlobID()
	want := bytes.Repeat([]byte("abc"), 1000)
	if err := s.Create(ctx, id, int64(len(want))); err != nil {
		t.Fatal(err)
	}
	u, err := s.load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.putPart(ctx, keysOf(id), u, want); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, id)
	if err != nil || !info.Complete || info.Offset != int64(len(want)) {
		t.Fatalf("Stat: %+v, %v; want complete", info, err)
	}
	rc, err := s.Open(ctx, id, 0, int64(len(want)))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, want) {
		t.Fatal("blob read back differs")
	}
}

// TestStaleTail: a tail whose part is in (a crash between the part's
// upload and the tail's removal) does not count.
func TestStaleTail(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := wire.NewBlobID()
	want := bytes.Repeat([]byte{7}, PartSize+100)
	if err := s.Create(ctx, id, int64(len(want))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, id, 0, io.MultiReader(bytes.NewReader(want[:1000]), failing{})); err == nil {
		t.Fatal("no error from a cut Append")
	}
	u, err := s.load(ctx, id)
	if err != nil || u.offset() != 1000 {
		t.Fatalf("after a cut: %+v, %v", u, err)
	}
	// Upload the first part as Append would, but leave the tail there.
	u.tail = 0
	if err := s.putPart(ctx, keysOf(id), u, want[:PartSize]); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(ctx, id); err != nil || info.Offset != PartSize {
		t.Fatalf("Stat with a stale tail: %+v, %v; want offset %d", info, err, PartSize)
	}
	if n, err := s.Append(ctx, id, PartSize, bytes.NewReader(want[PartSize:])); err != nil || n != int64(len(want)) {
		t.Fatalf("Append: %d, %v", n, err)
	}
	// Completion removes the stale tail with the rest.
	out, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(keysOf(id).dir)})
	if err != nil || len(out.Contents) != 0 {
		t.Fatalf("objects left of a complete upload: %d, %v", len(out.Contents), err)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("cut") }

// TestErrorsHideBlobIDs: an error of the S3 client names neither the
// blob nor its key.
func TestErrorsHideBlobIDs(t *testing.T) {
	s := newStore(t)
	// A server that is not there: the client's error carries the URL.
	bad := &Store{
		client:    s3.New(s.client.Options(), func(o *s3.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1") }),
		idle:      s.idle,
		bucket:    s.bucket,
		appending: make(map[wire.BlobID]bool),
	}
	id := wire.NewBlobID()
	_, err := bad.Stat(t.Context(), id)
	if err == nil {
		t.Fatal("no error from a server that is not there")
	}
	if bytes.Contains([]byte(err.Error()), []byte(id.String())) {
		t.Fatalf("error names the blob: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{Bucket: "b", Endpoint: "127.0.0.1:7070"},
		{Bucket: "b", Endpoint: "ftp://example.org"},
		{Bucket: "b", AccessKey: "a"},
		{Bucket: "b", SecretKey: "s"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v): no error", c)
		}
	}
	if err := (Config{Bucket: "b", Endpoint: "https://s3.example.org", AccessKey: "a", SecretKey: "s"}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestTwoStores: two stores on one bucket, as two gateways of a cluster
// have, see one upload: one takes the start of a blob and is cut, the
// other reports the offset, takes the rest, and the first reads it.
func TestTwoStores(t *testing.T) {
	a := newStore(t)
	b, err := New(t.Context(), Config{
		Endpoint:  os.Getenv("MUTUAL_TEST_S3_ENDPOINT"),
		AccessKey: os.Getenv("MUTUAL_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("MUTUAL_TEST_S3_SECRET_KEY"),
		Bucket:    a.bucket,
		PathStyle: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	want := make([]byte, PartSize+PartSize/2)
	rand.Read(want)
	id := wire.NewBlobID()
	if err := a.Create(ctx, id, int64(len(want))); err != nil {
		t.Fatal(err)
	}
	const cut = PartSize + 1000
	if n, err := a.Append(ctx, id, 0, io.MultiReader(bytes.NewReader(want[:cut]), failing{})); err == nil || n != cut {
		t.Fatalf("cut Append: %d, %v", n, err)
	}
	info, err := b.Stat(ctx, id)
	if err != nil || info.Offset != cut {
		t.Fatalf("Stat on the other store: %+v, %v; want offset %d", info, err, cut)
	}
	if n, err := b.Append(ctx, id, cut, bytes.NewReader(want[cut:])); err != nil || n != int64(len(want)) {
		t.Fatalf("Append on the other store: %d, %v", n, err)
	}
	rc, err := a.Open(ctx, id, 0, int64(len(want)))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, want) {
		t.Fatal("the blob read back differs")
	}
}

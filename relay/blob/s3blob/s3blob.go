// Package s3blob is the blob store on an S3-compatible object store, for
// a relay of several gateways (every gateway reaches the same bucket).
//
// An upload is an S3 multipart upload of the object "blobs/ab/<id>"
// (ab: the ID's first two hex digits), with a small state object
// "uploads/ab/<id>/state" (size, creation time, the multipart upload's
// ID) written once by Create. Every part but the last is exactly
// PartSize bytes: Append gathers PartSize bytes in memory before it
// uploads a part. When the reader ends before a part is full (a cut
// connection), the bytes gathered are stored as a tail object,
// "uploads/ab/<id>/tail-<n>" for part n, and the next Append starts its
// part with them; so the upload's offset, (parts × PartSize) + the
// tail's length, counts every byte an Append has reported. A tail is
// replaced whole (S3 writes objects atomically) and ignored once its
// part is uploaded, so a crash leaves the offset exact. The last part
// completes the multipart upload; the blob is then the object alone.
//
// Memory: one PartSize buffer per Append in progress (pooled). Reads
// are ranged GETs streamed to the caller.
//
// Two Appends to one upload in one process: the second gets
// blob.ErrOffset. Across processes, the relay's per-blob lock and the
// offset check keep them apart, except for two Appends racing in the same
// instant, which can only garble that uploader's own blob (the
// receiver's digest check refuses it).
//
// Multipart uploads whose state object is lost (a crash inside Create)
// are the bucket's to abort: give it a lifecycle rule
// AbortIncompleteMultipartUpload (docs/operations.md).
package s3blob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/wire"
)

// PartSize is the size of every part of an upload but the last: S3's
// smallest, so that an Append in progress holds as little as it can.
const PartSize = 5 << 20

// writeTimeout bounds the writes that keep bytes an Append has already
// read: they run even when the Append's context is cancelled (the
// uploader went away), so that its offset counts them.
const writeTimeout = 2 * time.Minute

var _ blob.Store = (*Store)(nil)

// Config says where the blobs are.
type Config struct {
	// Endpoint is the URL of the S3 API, such as
	// "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:7070";
	// empty: AWS's endpoint for Region.
	Endpoint string
	// Bucket holds the blobs; the store owns the keys under "blobs/"
	// and "uploads/".
	Bucket string
	// Region is the bucket's region (default "us-east-1").
	Region string
	// PathStyle puts the bucket in the URL's path rather than its host
	// name, as most self-hosted S3 servers want.
	PathStyle bool
	// AccessKey and SecretKey sign the requests; when both are empty,
	// the standard AWS sources are used (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, shared files, an instance's role).
	AccessKey, SecretKey string
	// CreateBucket creates the bucket when New finds it missing.
	CreateBucket bool
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Bucket == "" {
		return errors.New("s3blob: no bucket")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("s3blob: the endpoint must be an http or https URL")
		}
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return errors.New("s3blob: an access key needs its secret key, and the other way round")
	}
	return nil
}

// errDamaged: an upload's state object does not hold a state.
var errDamaged = errors.New("s3blob: an upload's state is damaged")

// Store is a blob.Store on an S3 bucket. Use New.
type Store struct {
	client  *s3.Client
	idle    interface{ CloseIdleConnections() } // the HTTP client
	bucket  string
	buffers sync.Pool // of *[]byte, PartSize long

	mu sync.Mutex
	// appending holds the uploads with an Append in progress.
	appending map[wire.BlobID]bool
}

// New connects to the bucket (creating it when asked and missing) and
// returns the store.
func New(ctx context.Context, c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(c.Region)}
	if c.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3blob: %w", err)
	}
	// The SDK's own HTTP client (which honours AWS_CA_BUNDLE), with more
	// idle connections kept, frozen into a client that can close them.
	bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		bc = awshttp.NewBuildableClient()
	}
	hc := bc.WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 64 }).Freeze()
	idle, ok := hc.(interface{ CloseIdleConnections() })
	if !ok {
		return nil, fmt.Errorf("s3blob: the HTTP client %T cannot close its connections", hc)
	}
	cfg.HTTPClient = hc
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
		// Checksums beyond the signature only where S3 demands them:
		// many S3-compatible servers refuse the newer checksum headers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	s := &Store{
		client:    client,
		idle:      idle,
		bucket:    c.Bucket,
		appending: make(map[wire.BlobID]bool),
	}
	s.buffers.New = func() any {
		b := make([]byte, PartSize)
		return &b
	}
	if err := s.ensureBucket(ctx, c.CreateBucket); err != nil {
		idle.CloseIdleConnections()
		return nil, err
	}
	return s, nil
}

func (s *Store) ensureBucket(ctx context.Context, create bool) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	if err == nil {
		return nil
	}
	if !isNotFound(err) {
		return wrap("reach the bucket", err)
	}
	if !create {
		return errors.New("s3blob: the bucket does not exist")
	}
	_, err = s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return wrap("create the bucket", err)
	}
	return nil
}

// Close closes the store's idle connections.
func (s *Store) Close() error {
	s.idle.CloseIdleConnections()
	return nil
}

// keys names the objects of one blob.
type keys struct {
	blob, dir string // the blob's object; the prefix of its upload's objects
}

func keysOf(id wire.BlobID) keys {
	h := id.String()
	return keys{blob: "blobs/" + h[:2] + "/" + h, dir: "uploads/" + h[:2] + "/" + h + "/"}
}

func (k keys) state() string        { return k.dir + "state" }
func (k keys) tail(part int) string { return k.dir + "tail-" + strconv.Itoa(part) }

// state is what the state object holds, written once by Create.
type state struct {
	Size    int64  `json:"size"`
	Created int64  `json:"created"` // Unix nanoseconds
	Upload  string `json:"upload"`  // the multipart upload's ID
}

// upload is an upload's state and progress.
type upload struct {
	state
	parts int   // parts uploaded: the first parts×PartSize bytes (at most Size)
	tail  int64 // bytes in the tail of part parts+1
}

func (u *upload) partsEnd() int64 { return min(int64(u.parts)*PartSize, u.Size) }
func (u *upload) offset() int64   { return u.partsEnd() + u.tail }

// createdKey is the metadata that carries the creation time of a
// complete blob, in Unix nanoseconds.
const createdKey = "created"

// Create starts an upload of size bytes.
func (s *Store) Create(ctx context.Context, id wire.BlobID, size int64) error {
	if size < 1 {
		return fmt.Errorf("s3blob: size %d: a blob has at least one byte", size)
	}
	if size > wire.MaxBlobSize {
		return fmt.Errorf("s3blob: size %d: %w", size, blob.ErrTooLarge)
	}
	k := keysOf(id)
	for _, key := range []string{k.blob, k.state()} {
		_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
		if err == nil {
			return blob.ErrExists
		}
		if !isNotFound(err) {
			return wrap("create", err)
		}
	}
	created := time.Now().UnixNano()
	mp, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:      &s.bucket,
		Key:         &k.blob,
		ContentType: aws.String("application/octet-stream"),
		Metadata:    map[string]string{createdKey: strconv.FormatInt(created, 10)},
	})
	if err != nil {
		return wrap("create", err)
	}
	body, err := json.Marshal(state{Size: size, Created: created, Upload: aws.ToString(mp.UploadId)})
	if err != nil {
		return fmt.Errorf("s3blob: %w", err)
	}
	// If-None-Match: a Create of the same ID racing this one loses.
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      &s.bucket,
		Key:         aws.String(k.state()),
		Body:        bytes.NewReader(body),
		IfNoneMatch: aws.String("*"),
	})
	if err != nil {
		s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k.blob, UploadId: mp.UploadId})
		if hasCode(err, "PreconditionFailed", "ConditionalRequestConflict") {
			return blob.ErrExists
		}
		return wrap("create", err)
	}
	return nil
}

// load reads id's upload: its state object, its parts and its tail.
// It returns blob.ErrNotFound when there is none (the blob may be
// complete).
func (s *Store) load(ctx context.Context, id wire.BlobID) (*upload, error) {
	k := keysOf(id)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(k.state())})
	if isNotFound(err) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, wrap("read the upload's state", err)
	}
	body, err := io.ReadAll(io.LimitReader(out.Body, 4<<10))
	out.Body.Close()
	if err != nil {
		return nil, wrap("read the upload's state", err)
	}
	u := &upload{}
	if err := json.Unmarshal(body, &u.state); err != nil || u.Size < 1 || u.Size > wire.MaxBlobSize || u.Upload == "" {
		return nil, errDamaged
	}
	parts, err := s.listParts(ctx, k, u.Upload)
	if err != nil {
		return nil, err
	}
	// Count the full parts from the first; every part is whole, since
	// S3 stores a part whole or not at all.
	for _, p := range parts {
		if aws.ToInt32(p.PartNumber) != int32(u.parts+1) {
			break
		}
		want := min(PartSize, u.Size-u.partsEnd())
		if aws.ToInt64(p.Size) != want {
			return nil, fmt.Errorf("s3blob: part %d of an upload has %d bytes, want %d", u.parts+1, aws.ToInt64(p.Size), want)
		}
		u.parts++
	}
	if u.partsEnd() == u.Size {
		return u, nil
	}
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(k.tail(u.parts + 1))})
	switch {
	case isNotFound(err):
	case err != nil:
		return nil, wrap("read the upload's tail", err)
	default:
		u.tail = aws.ToInt64(head.ContentLength)
		if u.tail < 0 || u.tail >= min(PartSize, u.Size-u.partsEnd()) {
			return nil, errors.New("s3blob: an upload's tail has a bad length")
		}
	}
	return u, nil
}

// listParts lists the parts of a multipart upload in order. An upload
// that S3 no longer has (aborted) is blob.ErrNotFound.
func (s *Store) listParts(ctx context.Context, k keys, uploadID string) ([]types.Part, error) {
	var parts []types.Part
	p := s3.NewListPartsPaginator(s.client, &s3.ListPartsInput{Bucket: &s.bucket, Key: &k.blob, UploadId: &uploadID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if hasCode(err, "NoSuchUpload") {
			return nil, blob.ErrNotFound
		}
		if err != nil {
			return nil, wrap("list the upload's parts", err)
		}
		parts = append(parts, page.Parts...)
	}
	return parts, nil
}

// head describes a complete blob, or returns blob.ErrNotFound.
func (s *Store) head(ctx context.Context, id wire.BlobID) (blob.Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(keysOf(id).blob)})
	if isNotFound(err) {
		return blob.Info{}, blob.ErrNotFound
	}
	if err != nil {
		return blob.Info{}, wrap("stat", err)
	}
	size := aws.ToInt64(out.ContentLength)
	created, _ := strconv.ParseInt(out.Metadata[createdKey], 10, 64)
	return blob.Info{Size: size, Offset: size, Complete: true, Created: time.Unix(0, created)}, nil
}

// Stat describes an upload or blob.
func (s *Store) Stat(ctx context.Context, id wire.BlobID) (blob.Info, error) {
	info, err := s.head(ctx, id)
	if !errors.Is(err, blob.ErrNotFound) {
		return info, err
	}
	u, err := s.load(ctx, id)
	if errors.Is(err, blob.ErrNotFound) {
		// The upload may have completed since the blob was looked for.
		return s.head(ctx, id)
	}
	if err != nil {
		return blob.Info{}, err
	}
	if u.offset() == u.Size {
		// Every part is in, but the upload was not completed (a crash,
		// or an Append completing it now).
		if err := s.complete(ctx, id, u); err != nil {
			return blob.Info{}, err
		}
		return s.head(ctx, id)
	}
	return blob.Info{Size: u.Size, Offset: u.offset(), Created: time.Unix(0, u.Created)}, nil
}

// begin marks id's upload as being appended to, or reports that it is.
func (s *Store) begin(id wire.BlobID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appending[id] {
		return false
	}
	s.appending[id] = true
	return true
}

func (s *Store) end(id wire.BlobID) {
	s.mu.Lock()
	delete(s.appending, id)
	s.mu.Unlock()
}

// Append writes r's bytes at offset.
func (s *Store) Append(ctx context.Context, id wire.BlobID, offset int64, r io.Reader) (int64, error) {
	if !s.begin(id) {
		info, err := s.Stat(ctx, id)
		if err != nil {
			return 0, err
		}
		return info.Offset, blob.ErrOffset
	}
	defer s.end(id)
	u, err := s.load(ctx, id)
	if errors.Is(err, blob.ErrNotFound) {
		return s.appendDone(ctx, id, offset, r)
	}
	if err != nil {
		return 0, err
	}
	if offset != u.offset() {
		return u.offset(), blob.ErrOffset
	}
	bp := s.buffers.Get().(*[]byte)
	defer s.buffers.Put(bp)
	buf := *bp

	k := keysOf(id)
	// The bytes read are kept even when ctx ends in the middle.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	n := int64(0) // bytes of the part in progress in buf
	if u.tail > 0 {
		if err := s.readTail(ctx, k.tail(u.parts+1), buf[:u.tail]); err != nil {
			return u.offset(), err
		}
		n = u.tail
	}
	for {
		want := min(PartSize, u.Size-u.partsEnd())
		m, rerr := readFull(ctx, r, buf[n:want])
		n += int64(m)
		if n < want {
			// The reader ended first: keep what it gave as the tail.
			if n > u.tail {
				if err := s.putTail(wctx, k.tail(u.parts+1), buf[:n]); err != nil {
					return u.offset(), err
				}
				u.tail = n
			}
			if rerr != nil {
				return u.offset(), fmt.Errorf("s3blob: append: %w", rerr)
			}
			return u.offset(), nil
		}
		if err := s.putPart(wctx, k, u, buf[:n]); err != nil {
			return u.offset(), err
		}
		n = 0
		if u.partsEnd() == u.Size {
			// Every byte is in, whatever r does next; one more is too many.
			tooLarge := rerr == nil && readsMore(r)
			if err := s.complete(wctx, id, u); err != nil {
				return u.Size, err
			}
			if tooLarge {
				return u.Size, blob.ErrTooLarge
			}
			return u.Size, nil
		}
		if rerr != nil {
			return u.offset(), fmt.Errorf("s3blob: append: %w", rerr)
		}
	}
}

// appendDone is Append to an upload that is not in progress: a complete
// blob (offset its size, and no more bytes) or none.
func (s *Store) appendDone(ctx context.Context, id wire.BlobID, offset int64, r io.Reader) (int64, error) {
	info, err := s.head(ctx, id)
	if err != nil {
		return 0, err
	}
	if offset != info.Size {
		return info.Size, blob.ErrOffset
	}
	if readsMore(r) {
		return info.Size, blob.ErrTooLarge
	}
	return info.Size, nil
}

// readTail reads a tail object into b, which is its length.
func (s *Store) readTail(ctx context.Context, key string, b []byte) error {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return wrap("read the upload's tail", err)
	}
	defer out.Body.Close()
	if _, err := io.ReadFull(out.Body, b); err != nil {
		return wrap("read the upload's tail", err)
	}
	return nil
}

// putTail stores b as a tail, replacing the one before.
func (s *Store) putTail(ctx context.Context, key string, b []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(b)})
	if err != nil {
		return wrap("store the upload's tail", err)
	}
	return nil
}

// putPart uploads b as u's next part and drops the tail it began with.
func (s *Store) putPart(ctx context.Context, k keys, u *upload, b []byte) error {
	part := int32(u.parts + 1)
	_, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:     &s.bucket,
		Key:        &k.blob,
		UploadId:   &u.Upload,
		PartNumber: &part,
		Body:       bytes.NewReader(b),
	})
	if err != nil {
		return wrap("upload a part", err)
	}
	u.parts++
	if u.tail > 0 {
		// Ignored from now on, since its part is in; Delete removes what
		// this leaves.
		s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(k.tail(int(part)))})
		u.tail = 0
	}
	return nil
}

// complete completes u's multipart upload, whose parts are all in, and
// removes its other objects.
func (s *Store) complete(ctx context.Context, id wire.BlobID, u *upload) error {
	k := keysOf(id)
	parts, err := s.listParts(ctx, k, u.Upload)
	if errors.Is(err, blob.ErrNotFound) {
		// Completed by another call in the meantime, or deleted.
		_, err := s.head(ctx, id)
		return err
	}
	if err != nil {
		return err
	}
	done := make([]types.CompletedPart, 0, u.parts)
	for _, p := range parts[:u.parts] {
		done = append(done, types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag})
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &s.bucket,
		Key:             &k.blob,
		UploadId:        &u.Upload,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	})
	if hasCode(err, "NoSuchUpload") {
		_, err := s.head(ctx, id)
		return err
	}
	if err != nil {
		return wrap("complete the upload", err)
	}
	return s.deleteUpload(ctx, k)
}

// Open reads length bytes from offset of a complete blob.
func (s *Store) Open(ctx context.Context, id wire.BlobID, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 || length < 1 || offset > wire.MaxBlobSize-length {
		return nil, blob.ErrRange
	}
	in := &s3.GetObjectInput{
		Bucket: &s.bucket,
		Key:    aws.String(keysOf(id).blob),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)),
	}
	out, err := s.client.GetObject(ctx, in)
	if isNotFound(err) {
		// Not complete, or complete but for the last step (see Stat).
		info, err := s.Stat(ctx, id)
		if err != nil {
			return nil, err
		}
		if !info.Complete {
			return nil, blob.ErrIncomplete
		}
		out, err = s.client.GetObject(ctx, in)
	}
	if hasCode(err, "InvalidRange") {
		return nil, blob.ErrRange
	}
	if err != nil {
		return nil, wrap("open", err)
	}
	// S3 serves what there is of a range that runs past the end.
	if size, ok := rangeSize(aws.ToString(out.ContentRange)); !ok || offset+length > size || aws.ToInt64(out.ContentLength) != length {
		out.Body.Close()
		if !ok {
			return nil, errors.New("s3blob: open: the server answered a range without Content-Range")
		}
		return nil, blob.ErrRange
	}
	return out.Body, nil
}

// rangeSize returns the whole object's size that a Content-Range header
// ("bytes a-b/size") gives.
func rangeSize(h string) (int64, bool) {
	_, size, ok := strings.Cut(h, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(size, 10, 64)
	return n, err == nil
}

// Delete removes an upload or blob.
func (s *Store) Delete(ctx context.Context, id wire.BlobID) error {
	k := keysOf(id)
	u, err := s.load(ctx, id)
	switch {
	case errors.Is(err, blob.ErrNotFound), errors.Is(err, errDamaged):
		// Nothing to abort, or no upload ID to abort it with (the
		// bucket's lifecycle rule will).
	case err != nil:
		return err
	default:
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &k.blob, UploadId: &u.Upload})
		if err != nil && !hasCode(err, "NoSuchUpload") && !isNotFound(err) {
			return wrap("delete", err)
		}
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k.blob}); err != nil && !isNotFound(err) {
		return wrap("delete", err)
	}
	return s.deleteUpload(ctx, k)
}

// deleteUpload removes the objects of an upload's progress: its tails,
// then its state.
func (s *Store) deleteUpload(ctx context.Context, k keys) error {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &k.dir})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap("delete", err)
		}
		for _, o := range page.Contents {
			if key := aws.ToString(o.Key); key != k.state() {
				keys = append(keys, key)
			}
		}
	}
	for _, key := range append(keys, k.state()) {
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
		if err != nil && !isNotFound(err) {
			return wrap("delete", err)
		}
	}
	return nil
}

// readFull reads into b until it is full, r ends (no error) or fails,
// or ctx ends.
func readFull(ctx context.Context, r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(b[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readsMore reports whether r has another byte.
func readsMore(r io.Reader) bool {
	var b [1]byte
	n, _ := io.ReadFull(r, b[:])
	return n > 0
}

// isNotFound reports whether err says that an object or bucket does
// not exist.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nk *types.NoSuchKey
	var nf *types.NotFound
	var nb *types.NoSuchBucket
	if errors.As(err, &nk) || errors.As(err, &nf) || errors.As(err, &nb) {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound && !hasCode(err, "NoSuchUpload")
}

// hasCode reports whether err is an S3 error with one of codes.
func hasCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

// wrap adds context to an error of the S3 client, leaving out the
// request's URL, which names the blob.
func wrap(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = transportError{ue}
	}
	return fmt.Errorf("s3blob: %s: %w", op, err)
}

// transportError is a failed request, said without its URL.
type transportError struct{ err *url.Error }

func (e transportError) Error() string { return e.err.Op + " request: " + e.err.Err.Error() }
func (e transportError) Unwrap() error { return e.err.Err }

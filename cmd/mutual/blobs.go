package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/blob/fsblob"
	"github.com/mutualcoop/mutual/relay/blob/s3blob"
	"github.com/mutualcoop/mutual/relay/gateway"
)

// blobFlags say where `mutual serve` keeps attachments' blobs, for how
// long, and how much one account may upload.
type blobFlags struct {
	dir       string
	quotaDay  byteSize
	retention time.Duration
	// s3 is the bucket that keeps the blobs when its Endpoint is set;
	// the keys come from the environment.
	s3 s3blob.Config
}

func (b *blobFlags) register(fs *flag.FlagSet) {
	b.quotaDay = gateway.DefaultUploadBytesPerDay
	fs.StringVar(&b.dir, "blob-dir", "", "directory of attachments' blobs (default DATA/blobs)")
	fs.Var(&b.quotaDay, "upload-quota-daily", "bytes of attachments one account may upload a day, such as 2GiB (0: no limit)")
	fs.DurationVar(&b.retention, "blob-retention", 0, "how long an attachment's blob is kept after its upload began (default: --retention)")
	fs.StringVar(&b.s3.Endpoint, "s3-endpoint", "", "URL of the S3 API that keeps attachments' blobs instead of --blob-dir, such as https://s3.eu-west-1.amazonaws.com (keys: MUTUAL_S3_ACCESS_KEY and MUTUAL_S3_SECRET_KEY, or the standard AWS sources)")
	fs.StringVar(&b.s3.Bucket, "s3-bucket", "", "the S3 bucket of attachments' blobs (created at start when missing)")
	fs.StringVar(&b.s3.Region, "s3-region", "us-east-1", "the S3 bucket's region")
	fs.BoolVar(&b.s3.PathStyle, "s3-path-style", false, "name the S3 bucket in the URL's path, not its host name (most self-hosted S3 servers)")
}

// apply sets the upload limits in a gateway configuration; retention is
// the messages' (--retention), the default.
func (b *blobFlags) apply(c *gateway.Config, retention time.Duration) {
	c.Uploads.BytesPerDay = int64(b.quotaDay)
	if b.quotaDay == 0 {
		c.Uploads.BytesPerDay = -1
	}
	c.Uploads.Retention = retention
	if b.retention != 0 {
		c.Uploads.Retention = b.retention
	}
}

// blobDir is where fsblob keeps the blobs: --blob-dir, or DATA/blobs.
func (b *blobFlags) blobDir(data string) string {
	if b.dir != "" {
		return b.dir
	}
	return filepath.Join(data, "blobs")
}

// openS3 opens the S3 bucket of --s3-endpoint, or returns nil without
// one.
func (b *blobFlags) openS3(ctx context.Context, log *slog.Logger) (blob.Store, error) {
	if b.s3.Endpoint == "" {
		if b.s3.Bucket != "" {
			return nil, errors.New("--s3-bucket needs --s3-endpoint")
		}
		return nil, nil
	}
	c := b.s3
	c.AccessKey, c.SecretKey = os.Getenv("MUTUAL_S3_ACCESS_KEY"), os.Getenv("MUTUAL_S3_SECRET_KEY")
	c.CreateBucket = true
	s, err := s3blob.New(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	log.Info("attachments' blobs in an S3 bucket", "bucket", c.Bucket)
	return s, nil
}

// openCluster opens the blob store of a cluster's gateway: the S3
// bucket, or files under --blob-dir, which every gateway must share.
func (b *blobFlags) openCluster(ctx context.Context, data string, log *slog.Logger) (blob.Store, error) {
	if s, err := b.openS3(ctx, log); s != nil || err != nil {
		return s, err
	}
	dir := b.blobDir(data)
	log.Warn("cluster mode keeps attachments' blobs in files: every gateway must use this one directory", "blob_dir", dir)
	s, err := fsblob.New(dir)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return s, nil
}

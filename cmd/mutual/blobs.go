package main

import (
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/blob/fsblob"
	"github.com/mutualcoop/mutual/relay/gateway"
)

// blobFlags say where `mutual serve` keeps attachments' blobs, for how
// long, and how much one account may upload.
type blobFlags struct {
	dir       string
	quotaDay  byteSize
	retention time.Duration
}

func (b *blobFlags) register(fs *flag.FlagSet) {
	b.quotaDay = gateway.DefaultUploadBytesPerDay
	fs.StringVar(&b.dir, "blob-dir", "", "directory of attachments' blobs (default DATA/blobs)")
	fs.Var(&b.quotaDay, "upload-quota-daily", "bytes of attachments one account may upload a day, such as 2GiB (0: no limit)")
	fs.DurationVar(&b.retention, "blob-retention", 0, "how long an attachment's blob is kept after its upload began (default: --retention)")
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

// openCluster opens the blob store of a cluster's gateway: files under
// --blob-dir, which every gateway must share.
func (b *blobFlags) openCluster(data string, log *slog.Logger) (blob.Store, error) {
	dir := b.blobDir(data)
	log.Warn("cluster mode keeps attachments' blobs in files: every gateway must use this one directory", "blob_dir", dir)
	s, err := fsblob.New(dir)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	return s, nil
}

package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// benchRelay is an embedded relay (fsblob in a temporary directory) on
// loopback with no daily upload quota nor limit on Upload frames, and a
// signed-in connection that asks for grants.
func benchRelay(b *testing.B) (*relaytest.Relay, *transport.Conn) {
	b.Helper()
	r := relaytest.Start(b, relaytest.Options{Config: func(c *server.Config) {
		c.Gateway.Uploads.BytesPerDay = -1
		c.Gateway.Rates.Upload = limit.PerSecond(1000, 1000)
	}})
	conn, _, err := r.Register(context.Background(), "email:bench@example.org", "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return r, conn
}

// benchUpload grants an upload of size bytes and sends it in one PATCH
// from a generator.
func benchUpload(b *testing.B, r *relaytest.Relay, conn *transport.Conn, seed byte, size int64) wire.BlobID {
	g, err := transport.Call[*wire.UploadGrant](context.Background(), conn, &wire.Upload{Size: uint64(size)})
	if err != nil {
		b.Error(err)
		return wire.BlobID{}
	}
	req, err := http.NewRequest(http.MethodPatch, r.BaseURL()+"/v1/blobs/"+g.Blob.String(), generated(seed, size))
	if err != nil {
		b.Error(err)
		return g.Blob
	}
	req.ContentLength = size
	req.Header.Set("Authorization", fmt.Sprintf("Bearer %x", g.Token))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return g.Blob
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b.Errorf("PATCH: %s", resp.Status)
	}
	return g.Blob
}

// BenchmarkBlobUpload: 100 MiB blobs uploaded through the relay's HTTP
// on loopback into fsblob (the bytes are synced to disk before the
// answer).
func BenchmarkBlobUpload(b *testing.B) {
	r, conn := benchRelay(b)
	const size = 100 << 20
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		benchUpload(b, r, conn, byte(i), size)
	}
}

// BenchmarkBlobDownload: a 100 MiB blob downloaded from the relay's
// HTTP on loopback out of fsblob.
func BenchmarkBlobDownload(b *testing.B) {
	r, conn := benchRelay(b)
	const size = 100 << 20
	id := benchUpload(b, r, conn, 1, size)
	url := r.BaseURL() + "/v1/blobs/" + id.String()
	b.SetBytes(size)
	for b.Loop() {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size {
			b.Fatalf("GET: %d bytes, %v", n, err)
		}
	}
}

// BenchmarkBlobConcurrentUploads: 20 uploads of 16 MiB at once (an
// account's most unfinished ones). Besides the throughput it reports the
// peak growth of the heap in use during the uploads, divided by 20: the
// relay's memory per upload in progress (the test's own clients
// included, so an upper bound).
func BenchmarkBlobConcurrentUploads(b *testing.B) {
	r, conn := benchRelay(b)
	const n, size = 20, 16 << 20
	b.SetBytes(n * size)
	var peakPerUpload float64
	for i := 0; b.Loop(); i++ {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.HeapInuse
		peak := before
		stop, sampled := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
		}()
		var wg sync.WaitGroup
		for j := range n {
			wg.Go(func() { benchUpload(b, r, conn, byte(i*n+j), size) })
		}
		wg.Wait()
		close(stop)
		<-sampled
		peakPerUpload = max(peakPerUpload, float64(peak-before)/n)
	}
	b.ReportMetric(peakPerUpload, "heap-B/upload")
}

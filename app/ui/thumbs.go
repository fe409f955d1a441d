package ui

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// Thumbnails are made on the device, never on the relay: a photo is
// decoded by the browser (createImageBitmap), a video's first frame is
// drawn from a <video> element, and either is drawn on a canvas that fits
// thumbSide and encoded as JPEG, at a lower quality, then smaller, until
// it fits client.MaxThumbnail.
const (
	thumbSide = 320 // the longest side of a thumbnail, in pixels
	// thumbTimeout bounds reading a video's first frame: a video the
	// browser cannot play is sent without a thumbnail.
	thumbTimeout = 15 * time.Second
)

// thumbQualities are the JPEG qualities tried in turn at each size.
var thumbQualities = [...]float64{0.8, 0.65, 0.5, 0.35}

// errNoThumbnail: the browser could not make a thumbnail of the file.
var errNoThumbnail = errors.New("ui: no thumbnail for this file")

// mediaPreview is what the device learns of a photo or video before sending
// it: its thumbnail (JPEG, at most client.MaxThumbnail bytes), its size
// in pixels and, for a video, its duration.
type mediaPreview struct {
	thumb         []byte
	width, height int
	duration      time.Duration
}

// hasThumbnail reports whether makePreview tries files of the MIME type.
func hasThumbnail(typ string) bool {
	return isImageType(typ) || isVideoType(typ)
}

// makePreview makes the preview of a browser File of the MIME type. It
// blocks: call it off the UI goroutine.
func makePreview(ctx context.Context, file app.Value, typ string) (mediaPreview, error) {
	switch {
	case isImageType(typ):
		return imagePreview(file)
	case isVideoType(typ):
		ctx, cancel := context.WithTimeout(ctx, thumbTimeout)
		defer cancel()
		return videoPreview(ctx, file)
	}
	return mediaPreview{}, errNoThumbnail
}

// imagePreview decodes a photo (turned as its EXIF data says) and draws
// its thumbnail.
func imagePreview(file app.Value) (mediaPreview, error) {
	bmp, err := await(app.Window().Call("createImageBitmap", file))
	if err != nil {
		return mediaPreview{}, errNoThumbnail
	}
	defer bmp.Call("close")
	p := mediaPreview{width: bmp.Get("width").Int(), height: bmp.Get("height").Int()}
	if p.thumb, err = encodeThumbnail(bmp, p.width, p.height); err != nil {
		return mediaPreview{}, err
	}
	return p, nil
}

// videoPreview loads a video in a <video> element that is never shown,
// waits for its first frame and draws it.
func videoPreview(ctx context.Context, file app.Value) (mediaPreview, error) {
	win := app.Window()
	url := win.Get("URL").Call("createObjectURL", file).String()
	defer win.Get("URL").Call("revokeObjectURL", url)
	v := win.Get("document").Call("createElement", "video")
	v.Set("muted", true)
	v.Set("playsInline", true)
	v.Set("preload", "auto")
	loaded := eventWaiter(v, "loadeddata", "error")
	v.Set("src", url)
	defer func() {
		v.Call("removeAttribute", "src")
		v.Call("load")
	}()
	if err := loaded(ctx); err != nil {
		return mediaPreview{}, errNoThumbnail
	}
	p := mediaPreview{width: v.Get("videoWidth").Int(), height: v.Get("videoHeight").Int()}
	if p.width == 0 || p.height == 0 {
		return mediaPreview{}, errNoThumbnail
	}
	d := v.Get("duration").Float()
	if math.IsInf(d, 1) {
		// A recording (MediaRecorder's WebM) does not say how long it
		// is: seeking past its end makes the browser find out; then
		// back to the first frame.
		if seek(ctx, v, 1e9) == nil {
			d = v.Get("duration").Float()
		}
		if err := seek(ctx, v, 0); err != nil {
			return mediaPreview{}, errNoThumbnail
		}
	}
	if d > 0 && !math.IsInf(d, 0) && !math.IsNaN(d) {
		p.duration = time.Duration(d * float64(time.Second))
	}
	// The first frame: loadeddata says the frame at the start is there.
	var err error
	if p.thumb, err = encodeThumbnail(v, p.width, p.height); err != nil {
		return mediaPreview{}, err
	}
	return p, nil
}

// thumbSize fits w×h into thumbSide, keeping its shape; never larger
// than the source.
func thumbSize(w, h, side int) (int, int) {
	if w <= 0 || h <= 0 {
		return 0, 0
	}
	scale := math.Min(1, float64(side)/float64(max(w, h)))
	return max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
}

// encodeThumbnail draws src (an image bitmap or a video) of w×h pixels on
// a canvas that fits thumbSide and encodes it as JPEG: at decreasing
// qualities, then at three quarters of the size, until it fits
// client.MaxThumbnail.
func encodeThumbnail(src app.Value, w, h int) ([]byte, error) {
	tw, th := thumbSize(w, h, thumbSide)
	for tw > 0 && th > 0 && max(tw, th) >= 16 {
		canvas := newCanvas(tw, th)
		g := canvas.Call("getContext", "2d")
		if !g.Truthy() {
			return nil, errNoThumbnail
		}
		g.Call("drawImage", src, 0, 0, tw, th)
		for _, q := range thumbQualities {
			b, err := canvasJPEG(canvas, q)
			if err != nil {
				return nil, errNoThumbnail
			}
			if len(b) <= client.MaxThumbnail {
				return b, nil
			}
		}
		tw, th = tw*3/4, th*3/4
	}
	return nil, errNoThumbnail
}

// newCanvas is an OffscreenCanvas, or a <canvas> element where there is
// none.
func newCanvas(w, h int) app.Value {
	win := app.Window()
	if oc := win.Get("OffscreenCanvas"); oc.Truthy() {
		return oc.New(w, h)
	}
	c := win.Get("document").Call("createElement", "canvas")
	c.Set("width", w)
	c.Set("height", h)
	return c
}

// canvasJPEG encodes what a canvas holds as JPEG of the quality (0 to 1).
func canvasJPEG(canvas app.Value, quality float64) ([]byte, error) {
	var p app.Value
	if canvas.Get("convertToBlob").Truthy() {
		p = canvas.Call("convertToBlob", map[string]any{"type": "image/jpeg", "quality": quality})
	} else {
		p = newPromise(func(resolve, reject app.Value) {
			var f app.Func
			f = app.FuncOf(func(_ app.Value, args []app.Value) any {
				defer f.Release()
				if len(args) == 0 || !args[0].Truthy() {
					reject.Invoke("the canvas could not be encoded")
					return nil
				}
				resolve.Invoke(args[0])
				return nil
			})
			canvas.Call("toBlob", f, "image/jpeg", quality)
		})
	}
	blob, err := await(p)
	if err != nil {
		return nil, err
	}
	return blobBytes(blob)
}

// seek moves a video to the time (in seconds) and waits until it is
// there.
func seek(ctx context.Context, v app.Value, t float64) error {
	seeked := eventWaiter(v, "seeked", "error")
	v.Set("currentTime", t)
	return seeked(ctx)
}

package ui

import (
	"fmt"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// scanInterval is how often, in milliseconds, the camera's picture is
// searched for a QR code.
const scanInterval = 250

// canScanCodes reports whether the browser can read QR codes from the
// camera: it has the Barcode Detection API (BarcodeDetector) and a
// camera API (navigator.mediaDevices.getUserMedia).
func canScanCodes() bool {
	if app.IsServer {
		return false
	}
	w := app.Window()
	md := w.Get("navigator").Get("mediaDevices")
	return w.Get("BarcodeDetector").Truthy() && md.Truthy() && md.Get("getUserMedia").Truthy()
}

// scanner shows the camera in a video element and reads QR codes from
// it with BarcodeDetector until stop. Its callbacks run on the JavaScript
// side: they hand their work to the UI goroutine with ctx.Dispatch.
type scanner struct {
	videoID string // the video element the camera shows in
	stream  app.Value
	timer   app.Value
	funcs   []app.Func
	stopped bool
}

// startScanner asks for the camera (the one facing away on a phone),
// shows it in the video element with the ID videoID and calls found with
// the text of each QR code it reads, or failed with why the camera could
// not start. Only the UI goroutine calls it, found and failed included
// (through ctx.Dispatch).
func startScanner(ctx app.Context, videoID string, found func(app.Context, string), failed func(app.Context, string)) *scanner {
	s := &scanner{videoID: videoID}
	w := app.Window()
	detector, err := newQRDetector()
	if err != nil {
		s.stopped = true
		failed(ctx, "This browser cannot read QR codes. Compare the numbers instead.")
		return s
	}

	var tick app.Func
	onDetected := s.fn(func(args []app.Value) {
		codes := args[0]
		var texts []string
		for i := 0; i < codes.Length(); i++ {
			texts = append(texts, codes.Index(i).Get("rawValue").String())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if s.stopped {
				return
			}
			for _, t := range texts {
				found(ctx, t)
				if s.stopped {
					return
				}
			}
			s.timer = w.Call("setTimeout", tick, scanInterval)
		})
	})
	onDetectFailed := s.fn(func([]app.Value) {
		// The video has no picture yet: try again.
		ctx.Dispatch(func(ctx app.Context) {
			if !s.stopped {
				s.timer = w.Call("setTimeout", tick, scanInterval)
			}
		})
	})
	tick = s.fn(func([]app.Value) {
		ctx.Dispatch(func(ctx app.Context) {
			if !s.stopped {
				detector.Call("detect", s.video()).Call("then", onDetected, onDetectFailed)
			}
		})
	})
	onStream := s.fn(func(args []app.Value) {
		stream := args[0]
		ctx.Dispatch(func(ctx app.Context) {
			if s.stopped {
				stopTracks(stream)
				return
			}
			s.stream = stream
			s.video()
			s.timer = w.Call("setTimeout", tick, scanInterval)
		})
	})
	onDenied := s.fn(func(args []app.Value) {
		name := ""
		if len(args) > 0 && args[0].Truthy() {
			name = args[0].Get("name").String()
		}
		ctx.Dispatch(func(ctx app.Context) {
			if !s.stopped {
				failed(ctx, cameraErrorText(name))
			}
		})
	})
	constraints := map[string]any{
		"audio": false,
		"video": map[string]any{"facingMode": "environment"},
	}
	w.Get("navigator").Get("mediaDevices").Call("getUserMedia", constraints).Call("then", onStream, onDenied)
	return s
}

// newQRDetector makes a BarcodeDetector for QR codes; the constructor
// throws when the browser's detector does not read them.
func newQRDetector() (d app.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("barcode detector: %v", r)
		}
	}()
	return app.Window().Get("BarcodeDetector").New(map[string]any{"formats": []any{"qr_code"}}), nil
}

// fn makes a JavaScript function that release frees.
func (s *scanner) fn(f func(args []app.Value)) app.Func {
	js := app.FuncOf(func(_ app.Value, args []app.Value) any {
		f(args)
		return nil
	})
	s.funcs = append(s.funcs, js)
	return js
}

// stop turns the camera off and ends the scanning. It is safe to call
// more than once. A callback still queued finds the scanner stopped; its
// functions are released with the page (a late promise would otherwise
// call a released function).
func (s *scanner) stop() {
	if s == nil || s.stopped {
		return
	}
	s.stopped = true
	if s.timer.Truthy() {
		app.Window().Call("clearTimeout", s.timer)
	}
	if s.stream.Truthy() {
		stopTracks(s.stream)
	}
	if v := byID(s.videoID); v.Truthy() {
		v.Set("srcObject", nil)
	}
}

// video returns the element the camera shows in, found again each time
// (a render may have replaced it, or not drawn it yet), with the
// camera's stream set on it; a missing element makes detect fail, and
// the scanner tries again.
func (s *scanner) video() app.Value {
	v := byID(s.videoID)
	if v.Truthy() && s.stream.Truthy() && !v.Get("srcObject").Equal(s.stream) {
		v.Set("srcObject", s.stream)
		v.Call("play")
	}
	return v
}

// release frees the scanner's JavaScript functions, once nothing can call
// them: after stop, when the page goes.
func (s *scanner) release() {
	if s == nil {
		return
	}
	s.stop()
	for _, f := range s.funcs {
		f.Release()
	}
	s.funcs = nil
}

// stopTracks stops every track of a media stream (the camera's light goes
// off).
func stopTracks(stream app.Value) {
	tracks := stream.Call("getTracks")
	for i := 0; i < tracks.Length(); i++ {
		tracks.Index(i).Call("stop")
	}
}

// cameraErrorText says why the camera could not start, from the name of
// the DOMException getUserMedia failed with.
func cameraErrorText(name string) string {
	switch name {
	case "NotAllowedError", "SecurityError":
		return "Mutual may not use the camera. Allow it in the browser's site settings, or compare the numbers instead."
	case "NotFoundError", "OverconstrainedError":
		return "No camera was found. Compare the numbers instead."
	case "NotReadableError", "AbortError":
		return "The camera is in use by another app. Close it and try again, or compare the numbers instead."
	}
	return "The camera could not start. Compare the numbers instead."
}

// scannedPayloads turns the text a QR code reader gives for a code into
// the bytes the code may hold. A safety-number code holds binary bytes
// (crypto/safety's scannable payload, in byte mode, as Signal writes
// it); readers give them as text, most as ISO-8859-1 (one character per
// byte), some as UTF-8 when the bytes happen to be valid UTF-8. Both
// readings are returned, the ISO-8859-1 one first, when they differ.
func scannedPayloads(text string) [][]byte {
	var out [][]byte
	latin1 := make([]byte, 0, len(text))
	ok := true
	for _, r := range text {
		if r > 0xFF {
			ok = false
			break
		}
		latin1 = append(latin1, byte(r))
	}
	if ok {
		out = append(out, latin1)
	}
	if utf8.ValidString(text) && (!ok || string(latin1) != text) {
		out = append(out, []byte(text))
	}
	return out
}

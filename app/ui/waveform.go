package ui

import (
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// A voice note's waveform is made on the recording device: the recording
// is decoded (Web Audio), cut in at most waveformLevels stretches of
// equal length, and the loudest sample of each is a level from 0 to 255,
// the loudest stretch 255. The player draws it as waveBars bars.
const (
	waveformLevels = 100
	waveBars       = 40
)

// peakMeter turns the samples of a recording, given in pieces, into its
// waveform: the peak of each of its stretches.
type peakMeter struct {
	total int       // samples in the recording
	seen  int       // samples given so far
	peaks []float32 // the loudest |sample| of each stretch so far
}

// newPeakMeter returns a meter of a recording of total samples: at most
// waveformLevels stretches, fewer for a recording of fewer samples.
func newPeakMeter(total int) *peakMeter {
	n := min(total, waveformLevels)
	return &peakMeter{total: total, peaks: make([]float32, max(n, 0))}
}

// add takes the next samples of the recording; samples past its total
// are ignored.
func (m *peakMeter) add(samples []float32) {
	n := len(m.peaks)
	for _, s := range samples {
		if m.seen >= m.total {
			return
		}
		i := m.seen * n / m.total
		if s < 0 {
			s = -s
		}
		if s > m.peaks[i] {
			m.peaks[i] = s
		}
		m.seen++
	}
}

// levels is the waveform: each stretch's peak scaled so that the loudest
// is 255 (all 0 for silence).
func (m *peakMeter) levels() []byte {
	var top float32
	for _, p := range m.peaks {
		top = max(top, p)
	}
	out := make([]byte, len(m.peaks))
	if top == 0 {
		return out
	}
	for i, p := range m.peaks {
		out[i] = byte(min(255, int(p/top*255+0.5)))
	}
	return out
}

// bars fits a waveform to n bars: each bar the loudest of the levels it
// covers, or the levels as they are when there are no more than n. A
// missing waveform (an audio file) is drawn as n low bars.
func bars(levels []byte, n int) []byte {
	if len(levels) == 0 {
		flat := make([]byte, n)
		for i := range flat {
			flat[i] = 40
		}
		return flat
	}
	if len(levels) <= n {
		return levels
	}
	out := make([]byte, n)
	for i := range out {
		lo, hi := i*len(levels)/n, (i+1)*len(levels)/n
		for _, l := range levels[lo:hi] {
			out[i] = max(out[i], l)
		}
	}
	return out
}

// waveformView draws a waveform as bars, those before played (0 to 1)
// marked as played. Each bar is at least a few percent high, so that
// silence still shows where the note is.
func waveformView(levels []byte, played float64) app.UI {
	bs := bars(levels, waveBars)
	cut := int(played*float64(len(bs)) + 0.5)
	return app.Span().Class("wave-bars").Aria("hidden", "true").Body(
		app.Range(bs).Slice(func(i int) app.UI {
			classes := []string{"wave-bar"}
			if i < cut {
				classes = append(classes, "wave-played")
			}
			pct := 8 + int(bs[i])*92/255
			return app.Span().Class(classes...).Style("height", strconv.Itoa(pct)+"%")
		}),
	)
}

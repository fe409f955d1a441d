package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// actionDevicesChanged: this device linked, approved or refused a device;
// the lists of devices load again.
const actionDevicesChanged = "mutual/devices-changed"

// linked makes the account that Linking.Wait registered c in this
// Session's, and starts the connection loop, as Verify does.
func (s *Session) linked(c *client.Client) (client.Account, error) {
	acct, err := c.Account()
	if err != nil {
		return client.Account{}, err
	}
	s.mu.Lock()
	if s.c == c {
		s.acct, s.registered = acct, true
	}
	s.mu.Unlock()
	s.startRun()
	s.publish(signedIn{})
	return acct, nil
}

// linkPage links this new device to an account from a device the person
// already has: it shows a code (a QR code and the short code), counts
// down to its end and, once the other device has linked it, the history
// arriving; then the Session is signed in and the chats open.
type linkPage struct {
	app.Compo
	s *Session

	// ctx is the component's own context: the button that started an
	// attempt is gone by the time its answers come.
	ctx     app.Context
	st      linkNewState
	gen     int                // numbers the attempts: answers to older ones are dropped
	cancel  context.CancelFunc // ends the current attempt
	ticking bool
}

// OnMount asks for a code.
func (p *linkPage) OnMount(ctx app.Context) {
	p.ctx = ctx
	p.start()
}

// OnDismount gives the code up.
func (p *linkPage) OnDismount() {
	p.gen++
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
}

// start asks the relay for a new code and waits for the other device.
func (p *linkPage) start() {
	if p.cancel != nil {
		p.cancel()
	}
	p.gen++
	gen := p.gen
	wctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.st = linkNewState{phase: linkStarting}
	s := p.s
	p.ctx.Async(func() {
		var l *client.Linking
		c, err := s.client()
		if err == nil {
			rctx, stop := withTimeout(wctx)
			l, err = c.StartLink(rctx, browserDeviceName())
			stop()
		}
		online := browserOnline()
		if err != nil {
			p.ctx.Dispatch(func(ctx app.Context) {
				if p.gen == gen {
					p.st.phase, p.st.err = linkFailed, linkErrorText(err, online)
					p.focus("link-new-code")
				}
			})
			return
		}
		defer l.Close()
		qr, _ := qrSVG([]byte(l.QR()), "QR code to link this device")
		shown := make(chan struct{})
		p.ctx.Dispatch(func(ctx app.Context) {
			defer close(shown)
			if p.gen != gen {
				return
			}
			p.st = linkNewState{phase: linkShowing, code: l.Code(), qrText: l.QR(), qr: qr,
				expires: s.now().Add(linkLifetime), now: s.now()}
			p.expireAt(gen, p.st.expires)
			p.tick()
		})
		<-shown
		res, err := l.Wait(wctx, func(pr client.Progress) { p.receiving(gen, c, pr) })
		var acct client.Account
		if err == nil {
			acct, err = s.linked(c)
		}
		if res.HistoryErr != nil {
			s.log.Warn("import the history of a link", "err", res.HistoryErr)
		}
		online = browserOnline()
		p.ctx.Dispatch(func(ctx app.Context) {
			if p.gen != gen {
				return
			}
			switch {
			case err == nil:
				p.st.phase, p.st.address = linkReceiving, acct.Address
				// The Session is signed in: the shell opens the chats.
			case wctx.Err() != nil:
				// Expired, or a new code was asked for.
			default:
				p.st.phase, p.st.err = linkFailed, linkErrorText(err, online)
				p.focus("link-new-code")
			}
		})
	})
}

// receiving shows the history arriving; the first call says which
// account this device is linked to. It is called on Wait's goroutine.
func (p *linkPage) receiving(gen int, c *client.Client, pr client.Progress) {
	p.ctx.Dispatch(func(ctx app.Context) {
		if p.gen != gen {
			return
		}
		if p.st.phase != linkReceiving {
			p.st.phase = linkReceiving
			if acct, err := c.Account(); err == nil {
				p.st.address = acct.Address
			}
			p.focus("link-status")
		}
		p.st.progress = pr
	})
}

// expireAt ends attempt gen when its code expires, unless the other
// device has linked this one by then.
func (p *linkPage) expireAt(gen int, at time.Time) {
	p.ctx.After(at.Sub(p.s.now()), func(ctx app.Context) {
		if p.gen != gen || p.st.phase != linkShowing {
			return
		}
		if left := at.Sub(p.s.now()); left > 0 {
			p.expireAt(gen, at)
			return
		}
		p.gen++
		p.cancel()
		p.cancel = nil
		p.st.phase = linkExpired
		p.focus("link-new-code")
	})
}

// tick redraws the countdown every second while the code is shown.
func (p *linkPage) tick() {
	if p.ticking {
		return
	}
	p.ticking = true
	var next func(app.Context)
	next = func(ctx app.Context) {
		p.st.now = p.s.now()
		if p.st.phase != linkShowing {
			p.ticking = false
			return
		}
		ctx.After(time.Second, next)
	}
	p.ctx.After(time.Second, next)
}

// focus puts the focus on the element with the ID once it is drawn.
func (p *linkPage) focus(id string) {
	p.ctx.Defer(func(app.Context) { focusID(id) })
}

func (p *linkPage) newCode(ctx app.Context, e app.Event) {
	if p.st.phase == linkExpired || p.st.phase == linkFailed {
		p.start()
	}
}

// Render draws the page.
func (p *linkPage) Render() app.UI {
	p.st.now = p.s.now()
	return linkNewView(p.st, p.newCode)
}

// linkSend is the settings' card that links a new device to this
// account: it takes the code the new device shows, typed or scanned, and
// sends the history with it if asked.
type linkSend struct {
	app.Compo
	s *Session

	ctx    app.Context // the component's own
	st     linkSendState
	cancel context.CancelFunc // ends the linking under way
	scan   *scanner
	scans  []*scanner // every scanner started, released with the card
}

// OnMount sets the card up: history on, the camera where the browser can
// read codes.
func (l *linkSend) OnMount(ctx app.Context) {
	l.ctx = ctx
	l.st.history = true
	l.st.canScan = canScanCodes()
}

// OnDismount turns the camera off and stops a linking under way.
func (l *linkSend) OnDismount() {
	for _, s := range l.scans {
		s.release()
	}
	l.scan, l.scans = nil, nil
	if l.cancel != nil {
		l.cancel()
		l.cancel = nil
	}
}

func (l *linkSend) setHistory(ctx app.Context, e app.Event) {
	l.st.history = ctx.JSSrc().Get("checked").Bool()
}

func (l *linkSend) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if l.st.busy {
		return
	}
	l.link(byID("link-code-input").Get("value").String())
}

// link links the device whose code (typed, or a QR code's text) is given:
// client.LinkDevice reads it as wire.ParseLinkCode does (hyphens, spaces
// and lower case allowed), and checks a QR code's whole hash.
func (l *linkSend) link(typed string) {
	l.st.typed, l.st.done = typed, ""
	code := strings.TrimSpace(typed)
	if _, err := wire.ParseLinkCode(code); err != nil {
		l.st.err = "A code has 12 letters and digits, like K7QM-3D9X-PW2A. Check the code on the new device."
		l.focus("link-code-input")
		return
	}
	l.endScan()
	l.st.busy, l.st.err, l.st.progress, l.st.scanNote = true, "", client.Progress{}, ""
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	s, history := l.s, l.st.history
	l.ctx.Async(func() {
		defer cancel()
		var name string
		c, err := s.client()
		var dev wire.DeviceID
		if err == nil {
			dev, err = c.LinkDevice(ctx, code, history, func(p client.Progress) {
				l.ctx.Dispatch(func(app.Context) { l.st.progress = p })
			})
		}
		if err == nil {
			name = linkedName(c, dev)
		}
		online := browserOnline()
		l.ctx.Dispatch(func(ctx app.Context) {
			l.st.busy = false
			if err != nil {
				l.st.err = linkErrorText(err, online)
				l.focus("link-code-input")
				return
			}
			l.st.typed, l.st.done = "", "Linked: "+name
			l.focus("link-result")
			ctx.NewAction(actionDevicesChanged)
		})
	})
}

// linkedName names the device just linked, from the account's list.
func linkedName(c *client.Client, dev wire.DeviceID) string {
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	devs, err := c.Devices(ctx)
	if err != nil {
		devs = nil
	}
	return deviceLabelByID(devs, dev)
}

// startScan turns the camera on to read the new device's code.
func (l *linkSend) startScan(ctx app.Context, e app.Event) {
	if l.st.scanning || !l.st.canScan || l.st.busy {
		return
	}
	l.st.scanning, l.st.err, l.st.scanNote = true, "", "Point the camera at the code on the new device."
	l.ctx.Defer(func(ctx app.Context) {
		if !l.st.scanning {
			return
		}
		// scan.go's reasons advise comparing safety numbers: linking
		// says its own.
		l.scan = startScanner(ctx, "link-scan-video", l.scanned, func(ctx app.Context, _ string) {
			l.endScan()
			l.st.scanNote = ""
			l.st.err = "The camera could not start, or Mutual may not use it (the browser's site settings say). Type the code instead."
		})
		l.scans = append(l.scans, l.scan)
	})
}

// stopScan turns the camera off.
func (l *linkSend) stopScan(ctx app.Context, e app.Event) {
	l.endScan()
	l.st.scanNote = ""
}

func (l *linkSend) endScan() {
	l.scan.stop()
	l.scan, l.st.scanning = nil, false
}

// scanned links with a link code the camera read; other codes are
// ignored.
func (l *linkSend) scanned(ctx app.Context, text string) {
	if !strings.HasPrefix(text, wire.LinkQRPrefix) {
		l.st.scanNote = "That is not a Mutual link code. Point the camera at the code on the new device."
		return
	}
	l.link(text)
}

func (l *linkSend) focus(id string) {
	l.ctx.Defer(func(app.Context) { focusID(id) })
}

// Render draws the card.
func (l *linkSend) Render() app.UI {
	return linkSendView(l.st, linkSendHandlers{submit: l.submit, history: l.setHistory, scan: l.startScan, stopScan: l.stopScan})
}

// pendingLinkText says why a held device cannot link another.
const pendingLinkText = "This device is still waiting for approval, so it cannot link another one. Link from a device that was approved."

// linkErrorText says why linking failed, in words a person can act on.
func linkErrorText(err error, online bool) string {
	var we *wire.Error
	if errors.As(err, &we) {
		switch we.Code {
		case wire.CodeNotFound:
			return "No device is waiting with this code: it has expired, was used, or was mistyped. Check it, or make a new code on the new device."
		case wire.CodeTooLarge:
			return "Your account has as many devices as it can have (16). Remove one in Your devices, then try again."
		case wire.CodeDevicePending:
			return pendingLinkText
		case wire.CodeExists:
			return "The server already has this code. Make a new code."
		}
	}
	switch {
	case errors.Is(err, client.ErrLinkMismatch):
		return "This code does not match the device asking to link: someone may be trying to put their device in its place. Make a new code on the new device and scan it."
	case errors.Is(err, client.ErrDevicePending):
		return pendingLinkText
	}
	return errorText(err, online)
}

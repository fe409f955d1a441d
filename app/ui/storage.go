package ui

import (
	"context"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// mediaLimits are the limits the storage settings offer for the media
// kept on this device, in bytes.
var mediaLimits = [...]int64{250 << 20, 500 << 20, 1 << 30, 2 << 30, 5 << 30}

// storageState is the settings' Storage section: how much media this
// device keeps, and its limit.
type storageState struct {
	used, limit int64
	loaded      bool
	busy        bool // a new limit or clearing is under way
	err         string
	done        string // what was done, once it is
}

// loadStorage reads how much media this device keeps and its limit.
func (p *settingsPage) loadStorage(ctx app.Context) {
	s := p.s
	ctx.Async(func() {
		var used, limit int64
		c, err := s.client()
		if err == nil {
			used, limit, err = c.MediaUsage(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.media.err = errorText(err, true)
				return
			}
			p.st.media.used, p.st.media.limit, p.st.media.loaded = used, limit, true
		})
	})
}

// setMediaLimit sets the limit chosen in the select; the client clears
// media until the device keeps no more than it.
func (p *settingsPage) setMediaLimit(ctx app.Context, e app.Event) {
	limit, err := strconv.ParseInt(ctx.JSSrc().Get("value").String(), 10, 64)
	if err != nil || p.st.media.busy {
		return
	}
	p.changeMedia(ctx, "", func(ctx context.Context, c *client.Client) error { return c.SetMediaLimit(ctx, limit) })
}

// clearMedia clears every cached media (after the confirmation).
func (p *settingsPage) clearMedia(ctx app.Context) {
	p.changeMedia(ctx, "Cached media cleared.", func(ctx context.Context, c *client.Client) error { return c.ClearMedia(ctx) })
}

// changeMedia runs change (a new limit, clearing), reads the usage again
// and says done.
func (p *settingsPage) changeMedia(ctx app.Context, done string, change func(context.Context, *client.Client) error) {
	p.st.media.busy, p.st.media.err, p.st.media.done = true, "", ""
	s := p.s
	ctx.Async(func() {
		var used, limit int64
		c, err := s.client()
		if err == nil {
			err = change(context.Background(), c)
		}
		if err == nil {
			used, limit, err = c.MediaUsage(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.st.media.busy = false
			if err != nil {
				p.st.media.err = errorText(err, true)
				return
			}
			p.st.media.used, p.st.media.limit, p.st.media.loaded, p.st.media.done = used, limit, true, done
		})
	})
}

// storageView is the settings' Storage section: the media kept on this
// device, the limit, and clearing them.
func storageView(st storageState, limit, clear app.EventHandler) app.UI {
	usage := "…"
	if st.loaded {
		usage = megabytes(st.used) + " of " + megabytes(st.limit)
	}
	known := false
	for _, l := range mediaLimits {
		known = known || l == st.limit
	}
	return app.Section().ID("storage").Class("card").Aria("labelledby", "storage-heading").Body(
		app.H2().ID("storage-heading").Text("Storage"),
		app.Dl().Class("facts").Body(
			app.Dt().Text("Media on this device"),
			app.Dd().ID("media-usage").DataSet("bytes", st.used).Text(usage),
		),
		app.Label().For("media-limit").Text("Keep media up to"),
		app.Select().ID("media-limit").Disabled(!st.loaded || st.busy).Aria("describedby", "media-limit-hint").OnChange(limit).Body(
			app.If(st.loaded && !known, func() app.UI {
				return app.Option().Value(strconv.FormatInt(st.limit, 10)).Selected(true).Text(megabytes(st.limit))
			}),
			app.Range(mediaLimits[:]).Slice(func(i int) app.UI {
				l := mediaLimits[i]
				return app.Option().Value(strconv.FormatInt(l, 10)).Selected(l == st.limit).Text(megabytes(l))
			}),
		),
		app.P().ID("media-limit-hint").Class("hint").Text("Photos, videos, files and voice notes you received stay on this device up to this limit. Past it, the media of the chats you opened least recently are cleared first. Cleared media can be downloaded again while the server keeps them, for 30 days after they were sent. Files you sent that are not uploaded yet are never cleared."),
		app.Button().ID("clear-media").Type("button").Class("button").Disabled(!st.loaded || st.busy || st.used == 0).
			OnClick(clear).Text("Clear cached media"),
		app.If(st.done != "", func() app.UI { return app.P().Class("success").Role("status").Text(st.done) }),
		app.If(st.err != "", func() app.UI { return app.P().Class("error").Role("alert").Text(st.err) }),
	)
}

// megabytes is a size as the storage settings show it, in units of
// 2^20 and 2^30 bytes: "12.3 MB", "1 GB".
func megabytes(n int64) string {
	const mb = 1 << 20
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GB"
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GB"
	case n%mb == 0:
		return strconv.FormatInt(n/mb, 10) + " MB"
	default:
		return strconv.FormatFloat(float64(n)/mb, 'f', 1, 64) + " MB"
	}
}

//go:build js && wasm

// Command web is the Mutual web app: the client and its user interface,
// compiled to WebAssembly and run by the page that pwa serves. It
// keeps this device's data in the browser's IndexedDB (database "mutual")
// and talks to the relay of the origin it was loaded from
// (ws(s)://<host>/v1/ws).
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o app.wasm ./cmd/web
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store/idbstore"
	"github.com/mutualcoop/mutual/app/ui"
)

// dbName is the IndexedDB database of the web app.
const dbName = "mutual"

func main() {
	relay := relayURL(app.Window().URL())
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := ui.NewSession(ui.Config{
		Open: func(ctx context.Context) (*client.Client, func() error, error) {
			st, err := idbstore.Open(ctx, dbName)
			if err != nil {
				return nil, nil, fmt.Errorf("open storage: %w", err)
			}
			c, err := client.Open(ctx, st, client.Config{ServerURL: relay, ClientName: "mutual-web/1", Logger: logger})
			if err != nil {
				st.Close()
				return nil, nil, err
			}
			return c, st.Close, nil
		},
		Wipe:   func(ctx context.Context) error { return idbstore.Delete(ctx, dbName) },
		Claim:  ui.ClaimTab,
		Logger: logger,
	})
	if err != nil {
		panic(err)
	}
	ui.Routes(s.NewPage)
	// An error is shown by the app itself.
	_ = s.Start(context.Background())
	app.RunWhenOnBrowser()
}

// relayURL is the relay's WebSocket endpoint on the page's origin.
func relayURL(page *url.URL) string {
	scheme := "wss"
	if page.Scheme == "http" {
		scheme = "ws"
	}
	return (&url.URL{Scheme: scheme, Host: page.Host, Path: "/v1/ws"}).String()
}

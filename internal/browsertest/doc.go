// Package browsertest drives the web app end to end, as its users do: the
// real relay binary (`mutual serve --web`) mailing codes to a real SMTP
// server, and headless Chromium profiles, each a browser process with its
// own user data directory, that register, add each other, chat, go
// offline and come back, take a newly deployed version of the app and
// sign out, through the DOM contract of the app's pages (element IDs,
// classes and data attributes; see the app/ui package).
//
// The same run takes the screenshots of docs/screenshots and measures the
// web app: the size of the wasm (raw and precompressed), the cold and warm
// load to the first interactive render, and the opening of a conversation
// of 10,000 messages delivered through the relay. Figures are logged, never
// asserted.
//
// The tests are behind the build tag browser, so that `go test ./...`
// does not need Chromium:
//
//	scripts/deps.sh chromium  # installs Chromium when it is missing
//	go test -tags browser -count=1 -v ./internal/browsertest
//
// Environment:
//
//	MUTUAL_CHROMIUM=PATH       the browser (default /usr/bin/chromium)
//	MUTUAL_SCREENSHOTS=1       write the screenshots to docs/screenshots
//	                           (otherwise to a temporary directory)
//	MUTUAL_WEB_METRICS=FILE    also write the measurements to FILE as JSON
package browsertest

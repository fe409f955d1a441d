//go:build !(js && wasm)

// Command web is the Mutual web app, compiled to WebAssembly; built for
// another platform it only says so.
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o app.wasm ./cmd/web
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "web: this program is the Mutual web app; build it with GOOS=js GOARCH=wasm and serve it with `mutual serve --web`")
	os.Exit(2)
}

//go:build js && wasm

// Command prog is what the runner's tests run in the browser: it does
// what its first argument says.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall/js"
)

func main() {
	switch os.Args[1] {
	case "exit": // print the arguments and an environment variable, exit with the code
		fmt.Println("args:", os.Args[1:])
		fmt.Fprintln(os.Stderr, "env:", os.Getenv("WASMBROWSER_TEST_VALUE"))
		code, _ := strconv.Atoi(os.Args[2])
		os.Exit(code)
	case "bytes": // every byte value, on standard output
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		os.Stdout.Write(b)
	case "browser": // a browser API
		fmt.Println("indexedDB:", js.Global().Get("indexedDB").Type())
	case "panic":
		panic("boom")
	case "hang": // wait for a promise that never settles
		done := make(chan struct{})
		then := js.FuncOf(func(js.Value, []js.Value) any { close(done); return nil })
		js.Global().Get("Promise").New(js.FuncOf(func(js.Value, []js.Value) any { return nil })).Call("then", then)
		<-done
	}
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

// export writes the chats this home holds, as JSON (or text with --text),
// to standard output or to the file --out names, which only its owner may
// read. It needs no relay: only what this device has stored goes in.
func (c *cli) export(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "")
	asText := fs.Bool("text", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("export takes only --out FILE and --text")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	a, err := s.client.Export(ctx)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if *asText {
		err = a.WriteText(&buf)
	} else {
		err = a.WriteJSON(&buf)
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = c.stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(c.stderr, "exported %s and %s to %s: what this device holds, nothing from other devices\n",
		plural(len(a.Conversations), "chat"), plural(a.Messages(), "message"), *out)
	return nil
}

// plural is "1 chat", "2 chats".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

package main

import (
	"context"
	"errors"
	"io"
)

func routerCmd(ctx context.Context, args []string, stderr io.Writer) error {
	return errors.New("the router runs inside 'mutual serve' on the embedded bus; as its own process it needs the Kafka bus (cluster mode)")
}

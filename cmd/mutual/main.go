// Command mutual is the Mutual relay: `mutual serve` runs it (with the
// web app when given --web), `mutual router` runs a router process for
// cluster mode, `mutual bench` measures it, `mutual bundle` writes the web
// app as a static website, and `mutual coop` keeps the co-op's roles,
// contributors and costs in the relay's directory. Each subcommand's flags
// can also be set from the environment (MUTUAL_<FLAG>, upper case, dashes
// as underscores).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: mutual <command> [flags]

commands:
  serve     run the relay (gateway, router, bus and directory; embedded by default)
  router    run a router process (cluster mode: Kafka and PostgreSQL)
  bench     load-test a relay (an in-process one unless --server is given)
  bundle    write the web app as a static website for any web server
  health    ask a running relay whether it is healthy (exit 0 when it is)
  coop      the co-op's roles, contributors and costs, in the relay's directory
  version   print the version

Run 'mutual <command> -h' for a command's flags.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "router":
		err = routerCmd(ctx, args[1:], stderr)
	case "bench":
		err = bench(ctx, args[1:], stdout, stderr)
	case "bundle":
		err = bundle(ctx, args[1:], stdout, stderr)
	case "health":
		err = health(ctx, args[1:], stdout, stderr)
	case "coop":
		err = coopCmd(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "mutual: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "mutual %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

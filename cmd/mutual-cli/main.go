// Command mutual-cli is Mutual's command-line client, for people who live
// in a terminal, for bots and for tests. It keeps its keys and messages in
// a home directory and talks to a relay like any other client: everything
// it sends is end-to-end encrypted.
//
// Exit codes a script can rely on:
//
//	0  success
//	1  failure (the message says why)
//	2  usage error
//	3  a contact's safety number changed: verify it, then 'contacts trust'
//	   (the message waits until then)
//	4  this home is not registered yet ('register', then 'verify')
//	5  the relay refused the message (see the message: not accepted, rate limited)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mutualcoop/mutual/app/client"
)

const (
	exitOK            = 0
	exitFailure       = 1
	exitUsage         = 2
	exitIdentity      = 3
	exitNotRegistered = 4
	exitRefused       = 5
)

const usage = `usage: mutual-cli [--home DIR] [--server URL] <command> [args]

commands:
  register ADDRESS            ask for a sign-in code (email:alice@example.org)
  verify CODE [NAME]          finish registering with the code received; NAME is
                              how this device is listed (default "Mutual CLI")
  contacts add ADDRESS        add a contact (accepts their request if they sent one)
  contacts list [--json]      list contacts and pending requests
  contacts accept ADDRESS|ID  accept a contact request
  contacts block ADDRESS|ID   block someone
  contacts trust ADDRESS|ID   accept a contact's changed safety number
  contacts verify ADDRESS|ID [--clear]
                              mark their safety numbers verified once compared
  send ADDRESS [TEXT]         send TEXT (read from standard input when absent)
  send --group ID [TEXT]      send TEXT to a group
  send ADDRESS|--group ID --file PATH [--file PATH...] [--caption TEXT] [--json]
                              send files (up to 10, 100 MB each) with a caption;
                              progress on standard error (JSON lines with --json)
  receive [--follow] [--json] [--save-dir DIR]
                              print messages received, from contacts and groups (one
                              JSON object per line with --json); with --save-dir,
                              download their files and save them in DIR (never
                              replacing a file: "name (1).ext")
  group create NAME ADDRESS...
                              create a group with these people (you are its admin)
  group add ID ADDRESS...     invite people to a group (admins, or every member when
                              the group lets them)
  group remove ID ADDRESS|USER
                              remove a member (admins)
  group rename ID NAME        rename a group (admins)
  group accept ID             join a group you were invited to
  group leave ID              leave a group (or decline an invitation)
  group list [--json]         list your groups and invitations, with their IDs
  group info ID [--json]      show a group's members, who is admin and who joined
  group link ID [--mode off|approve|open] [--reset] [--origin URL]
                              turn a group's invite link on or off, or make a new
                              one (admins), and print it, with who asks to join;
                              the link starts with the relay's web address unless
                              --origin gives the web app's
  group join LINK             join a group with its invite link (or ask to, when an
                              admin approves who joins)
  group approve ID USER       let in someone who asked to join with the link (admins)
  group decline ID USER       turn down someone who asked to join (admins)
  safety-number ADDRESS|ID    print the safety number(s) to compare with a contact
  link [NAME]                 make this home a device of an account you use elsewhere:
                              prints a code (and its QR code) to enter there with
                              'devices link', and waits; NAME as for verify
  devices [--json]            list this account's devices (linked ones, and those
                              waiting for approval)
  devices link CODE [--no-history]
                              link the device showing CODE (XXXX-XXXX-XXXX, or the
                              text of its QR code) to this account, with the history
                              on this device unless --no-history
  devices approve ID          let in a device that signed in with an emailed code
  devices refuse ID           refuse (remove) such a device
  export [--out FILE] [--text] save the chats on this device (JSON, or text with
                              --text) to FILE or standard output; only what this
                              device holds goes in
  coop [--json]               the co-op that runs the relay: its figures this month
                              and before, your membership and roles
  coop join [--provider stripe] [--plan monthly]
                              start a membership: prints the page to pay on
  coop cancel                 cancel your membership
  coop notices on|off         turn the yearly co-op notice on or off
  coop costs set MONTH CATEGORY AMOUNT [--note TEXT]
                              record a month's cost (operators; AMOUNT in minor
                              units: 12000 is 120.00; 0 removes the line)
  coop grant operator|contributor ADDRESS [--revoke]
                              give someone a role, or take it back (operators)

Groups are named by their ID in hex, as 'group list' prints it; an invitation
from a contact is joined at once, one from anyone else waits for 'group accept'.
Members who are not contacts are named by their user ID ('group info').
Notices of the co-op (signed by the relay) show in 'receive' as from "Mutual
co-op" (kind "coop" with --json).
An invite link holds a secret: anyone who has it can join (or ask to), so
give it only to people you would add, and make a new one with --reset when
it went further.

The home directory (default ~/.mutual-cli, or $MUTUAL_HOME) holds the keys:
keep it private. The relay (default http://127.0.0.1:8080, or
$MUTUAL_SERVER) is given as its web address.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is one invocation.
type cli struct {
	home   string
	server string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("mutual-cli", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&c.home, "home", defaultHome(), "home directory")
	fs.StringVar(&c.server, "server", envOr("MUTUAL_SERVER", "http://127.0.0.1:8080"), "relay address")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	err := c.dispatch(ctx, rest[0], rest[1:])
	return c.report(err)
}

func (c *cli) dispatch(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "register":
		return c.register(ctx, args)
	case "verify":
		return c.verify(ctx, args)
	case "contacts":
		return c.contacts(ctx, args)
	case "send":
		return c.send(ctx, args)
	case "group":
		return c.group(ctx, args)
	case "receive":
		return c.receive(ctx, args)
	case "safety-number":
		return c.safetyNumber(ctx, args)
	case "devices":
		return c.devices(ctx, args)
	case "link":
		return c.link(ctx, args)
	case "export":
		return c.export(ctx, args)
	case "coop":
		return c.coop(ctx, args)
	}
	return usageError("unknown command %q", cmd)
}

// usageErr is a mistake in the command line.
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &usageErr{fmt.Sprintf(format, args...)}
}

// refusedErr: the relay refused a message.
type refusedErr struct{ msg string }

func (e *refusedErr) Error() string { return e.msg }

// report prints err and maps it to an exit code.
func (c *cli) report(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageErr
	var ie *client.IdentityChangedError
	var re *refusedErr
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "mutual-cli: %v\n\n%s", err, usage)
		return exitUsage
	case errors.As(err, &ie):
		who := ie.Contact.String()
		fmt.Fprintf(c.stderr, "mutual-cli: the safety number with %s changed (a new device or a reinstall, or someone in the middle).\n"+
			"Compare it with them ('mutual-cli safety-number %s'), then 'mutual-cli contacts trust %s':\n"+
			"your message waits on this device until you do, and goes with a later command.\n",
			who, who, who)
		return exitIdentity
	case errors.Is(err, client.ErrNotRegistered):
		fmt.Fprintln(c.stderr, "mutual-cli: not registered yet: run 'mutual-cli register ADDRESS', then 'mutual-cli verify CODE'")
		return exitNotRegistered
	case errors.As(err, &re):
		fmt.Fprintf(c.stderr, "mutual-cli: %v\n", err)
		return exitRefused
	}
	fmt.Fprintf(c.stderr, "mutual-cli: %v\n", err)
	return exitFailure
}

func defaultHome() string {
	if h := os.Getenv("MUTUAL_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".mutual-cli")
	}
	return ".mutual-cli"
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// wsURL turns the relay's web address into its WebSocket endpoint.
func wsURL(server string) (string, error) {
	s := strings.TrimSuffix(server, "/")
	switch {
	case strings.HasPrefix(s, "http://"):
		s = "ws://" + strings.TrimPrefix(s, "http://")
	case strings.HasPrefix(s, "https://"):
		s = "wss://" + strings.TrimPrefix(s, "https://")
	case strings.HasPrefix(s, "ws://"), strings.HasPrefix(s, "wss://"):
	default:
		return "", fmt.Errorf("server %q: want http(s)://host[:port]", server)
	}
	if !strings.HasSuffix(s, "/v1/ws") {
		s += "/v1/ws"
	}
	return s, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses of the ferry command.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// app holds what every command reads and writes instead of the process
// globals, so tests can run commands in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
}

// run executes the ferry command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: &lockedWriter{w: stderr}, lookupEnv: os.LookupEnv}
	return a.run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int {
	root := newRootCmd(a)
	started := false // set once flags and arguments were accepted
	root.PersistentPreRun = func(*cobra.Command, []string) { started = true }
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitError
	var ue usageError
	switch {
	case errors.As(err, &ue) || !started:
		code = exitUsage
	case errors.Is(err, errInterrupted):
		code = exitInterrupted
	}
	fmt.Fprintf(a.stderr, "ferry: %s\n", errorText(err))
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Ferry message broker: server and command-line client",
		Long: `Ferry is a message broker in which every exchange pattern (publish-subscribe,
fan-out, request/reply, streams) and every routing mode (unicast, broadcast,
multicast, anycast) is a named primitive.

"ferry serve" runs a broker; the other commands connect to one as an endpoint
(--server, or FERRY_SERVER, default ` + defaultServerURL + `).

Exit status: 0 on success, 1 on errors, 2 on usage errors, 130 when
interrupted before a command could finish.`,
		Example: `  ferry serve
  ferry sub 'orders.>'
  ferry pub orders.eu.created '{"id":1}'
  ferry reply time.now 'twelve o'"'"'clock'
  ferry req time.now ''
  ferry multicast channel.7 video.frame f1
  ferry anycast content.get /index.html --request --policy nearest --where type=edge
  ferry stream --accept 'gps.>'
  printf '52.52,13.40\n52.51,13.38\n' | ferry stream gps.phone1
  ferry channel --listen chat --id bob
  ferry channel @bob chat`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddGroup(
		&cobra.Group{ID: "client", Title: "Client commands:"},
		&cobra.Group{ID: "routing", Title: "Routing commands:"},
		&cobra.Group{ID: "streaming", Title: "Streaming commands:"},
		&cobra.Group{ID: "server", Title: "Server commands:"},
	)
	for _, c := range []*cobra.Command{
		newPubCmd(a), newSubCmd(a), newReqCmd(a), newReplyCmd(a), newSendCmd(a), newListenCmd(a), newBenchCmd(a),
	} {
		c.GroupID = "client"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{
		newBroadcastCmd(a), newMulticastCmd(a), newAnycastCmd(a), newJoinCmd(a),
		newGroupsCmd(a), newEndpointsCmd(a), newRouteCmd(a),
	} {
		c.GroupID = "routing"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newStreamCmd(a), newChannelCmd(a)} {
		c.GroupID = "streaming"
		root.AddCommand(c)
	}
	addLogCmd(root, a)
	serve, status, demo := newServeCmd(a), newStatusCmd(a), newDemoCmd(a)
	serve.GroupID, status.GroupID, demo.GroupID = "server", "server", "server"
	root.AddCommand(serve, status, demo, newVersionCmd(a))
	return root
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errInterrupted reports a command cut short by SIGINT or SIGTERM.
var errInterrupted = errors.New("interrupted")

// interrupted returns errInterrupted when err happened because ctx ended.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return err
}

// errorText returns err's message without the "ferry: " prefixes the
// client's errors carry, since the command adds its own.
func errorText(err error) string {
	s := strings.TrimPrefix(err.Error(), "ferry: ")
	s = strings.ReplaceAll(s, "(ferry: ", "(")
	return strings.ReplaceAll(s, ": ferry: ", ": ")
}

// positional validates a command's positional arguments by name: required
// ones first, then up to len(optional) more.
func positional(required []string, optional ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < len(required) {
			return usageErrorf("missing %s", strings.Join(required[len(args):], " "))
		}
		if max := len(required) + len(optional); len(args) > max {
			return usageErrorf("unexpected argument %q", args[max])
		}
		return nil
	}
}

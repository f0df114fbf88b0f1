// Package embedded holds what the example programs share: an in-process
// Ferry broker, so each runs on its own with `go run`, and their main.
package embedded

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/ferrymq/ferry/server"
)

// Start starts a broker on a free loopback port with a temporary data
// directory. stop shuts it down (waiting at most two seconds) and removes
// the directory.
func Start(name string) (srv *server.Server, stop func(), err error) {
	dir, err := os.MkdirTemp("", "ferry-"+name+"-")
	if err != nil {
		return nil, nil, err
	}
	srv, err = server.New(server.Options{Listen: "127.0.0.1:0", DataDir: dir})
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start the embedded broker: %w", err)
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		os.RemoveAll(dir)
	}
	return srv, stop, nil
}

// Main runs an example program: run gets a context cancelled by Ctrl-C,
// stdout and the arguments; an error is printed as "name: error" with exit
// status 1, and a -h/-help request exits 2.
func Main(name string, run func(ctx context.Context, out io.Writer, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout, os.Args[1:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Package embedded starts an in-process Ferry broker for the example
// programs, so each runs on its own with `go run`.
package embedded

import (
	"context"
	"fmt"
	"os"
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

// Command natsd runs an embedded NATS server on a loopback port, so that
// the benchmark's memory scenario can measure it as a process of its own.
// It prints "listening HOST:PORT" once ready and runs until SIGINT or
// SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", -1, "port to listen on; -1 picks a free one")
	maxConn := flag.Int("max-conn", 0, "most client connections (0: the server's default)")
	flag.Parse()

	s, err := server.NewServer(&server.Options{Host: *host, Port: *port, MaxConn: *maxConn, NoLog: true, NoSigs: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "natsd:", err)
		os.Exit(1)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "natsd: not ready within 10s")
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", s.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.Shutdown()
}

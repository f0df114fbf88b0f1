package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ferrymq/ferry/server"
	"github.com/spf13/cobra"
)

// shutdownTimeout bounds the graceful shutdown after SIGINT or SIGTERM.
const shutdownTimeout = 10 * time.Second

// serveFlags are the flags of "ferry serve" that override configuration keys.
var serveFlags = []struct{ key, usage string }{
	{"listen", "native protocol TCP address (default " + server.DefaultListen + ")"},
	{"data", "directory for durable state (default " + server.DefaultDataDir + ")"},
	{"name", "server name reported to clients (default ferry)"},
	{"http", "HTTP address for /healthz, /readyz, /metrics and /api/v1/; \"off\" disables (default " + DefaultHTTP + ")"},
	{"log_level", "log level: debug, info, warn or error (default info)"},
	{"log_format", "log format: text or json (default text)"},
}

func newServeCmd(a *app) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a broker",
		Long: `Run a Ferry broker until SIGINT or SIGTERM, then shut down gracefully
(at most ` + shutdownTimeout.String() + `): stop accepting, flush pending messages to clients, close.

Configuration comes from, by decreasing precedence: flags, FERRY_* environment
variables, a TOML file (--config or FERRY_CONFIG), defaults. Every key below
can be set in the file; its environment variable is FERRY_ and the key in
upper case (max_payload: FERRY_MAX_PAYLOAD):

` + configKeysHelp + `

Logs go to stderr.`,
		Example: `  ferry serve
  ferry serve --listen 0.0.0.0:7420 --log-level debug
  ferry serve --http 0.0.0.0:7480     # Prometheus scrapes http://HOST:7480/metrics
  ferry serve --http off
  ferry serve --config /etc/ferry/ferry.toml
  FERRY_MAX_PAYLOAD=4MiB ferry serve --log-format json`,
		Args: positional(nil),
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags := map[string]string{}
			for _, f := range serveFlags {
				if fl := cmd.Flags().Lookup(flagKey(f.key)); fl.Changed {
					flags[f.key] = fl.Value.String()
				}
			}
			cfg, err := loadConfig(configPath, a.lookupEnv, flags)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, a.stderr)
		},
	}
	for _, f := range serveFlags {
		cmd.Flags().String(flagKey(f.key), "", f.usage)
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "TOML configuration file (env FERRY_CONFIG)")
	return cmd
}

// configKeysHelp lists the configuration keys in the help of "ferry serve".
const configKeysHelp = `  key                 meaning                         default
  listen              address to listen on            "127.0.0.1:7420"
  data                directory for durable state     "./ferry-data"
  name                server name                     "ferry"
  http                health, metrics, JSON API       "127.0.0.1:7480" ("off": none)
  max_payload         largest payload (size)          "1MiB"
  max_headers         largest header block (size)     "64KiB"
  max_subject_bytes   longest subject (size)          256
  max_subject_tokens  most tokens in a subject        32
  max_subs_per_conn   most subscriptions per client   65536
  max_pending         outbound buffer per client      "32MiB"
  max_conns           most concurrent clients         65536
  handshake_timeout   time allowed for CONNECT        "2s"
  write_timeout       time allowed for a write        "5s"
  ping_interval       ping clients idle this long     "30s"
  max_pings_out       unanswered pings before close   2
  max_attempts        deliveries of an anycast request 3
  stall_timeout       cut-slow stream stall limit     "2s"
  log_level           debug, info, warn or error      "info"
  log_format          text or json                    "text"
Sizes are bytes, or a whole number with KiB, MiB or GiB; durations are
numbers with a unit: 500ms, 2s, 1m.`

// serve runs a server with cfg until ctx ends, then shuts it down.
func serve(ctx context.Context, cfg serveConfig, logOut io.Writer) error {
	logger := newLogger(logOut, cfg)
	opts := cfg.Server
	opts.HTTPListen = cfg.httpListen()
	opts.Logger = logger
	if opts.DataDir == "" { // the binary keeps durable state on disk by default
		opts.DataDir = server.DefaultDataDir
	}
	s, err := server.New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil { // logs "listening" with the addresses
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.Done():
		return errors.New("server stopped unexpectedly")
	}
	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil { // logs "stopped"
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// newLogger returns the server's logger, writing to w.
func newLogger(w io.Writer, cfg serveConfig) *slog.Logger {
	ho := &slog.HandlerOptions{Level: cfg.LogLevel}
	if strings.EqualFold(cfg.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

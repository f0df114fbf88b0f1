// Package httpapi is Ferry's HTTP front door for operators: liveness and
// readiness probes, Prometheus metrics, a small read-only JSON API with a
// live event stream, and the dashboard.
//
//	GET /healthz                 200 "ok" while the server runs
//	GET /readyz                  200 once the native listener accepts, 503 before and during shutdown
//	GET /metrics                 Prometheus text format, read from the broker's counters at scrape time
//	GET /api/v1/server           server name, version, uptime and counters
//	GET /api/v1/endpoints        connected endpoints; ?where=SELECTOR filters them
//	GET /api/v1/groups           multicast groups and their members
//	GET /api/v1/explain          how a send would be routed (?subject=&mode=&where=&policy=&near=LAT,LON&to=&key=)
//	GET /api/v1/decisions        recent routing decisions of targeted sends with their reasons, newest first
//	GET /api/v1/subjects         the busiest subjects by message rate (?limit=1..100, default 20)
//	GET /api/v1/streams          open streams and channels: receivers, credit, messages so far
//	GET /api/v1/logs             durable logs: messages, bytes, sequences, consumers with lag
//	GET /api/v1/recent-events    recent slow-consumer, drop, stall, failover and read-only-log events, newest first
//	GET /api/v1/events           Server-Sent Events: a "snapshot" of all the above at once and every second
//	GET /, /static/...           the dashboard (package web)
//
// At most Config.MaxEventClients (default 64) event streams are open at a
// time; beyond that, and after Close, /api/v1/events answers 503. A stream
// ends when its client goes away or when Close is called; the server must call
// Close when it shuts down, since http.Server.Shutdown waits for active
// requests and a stream never ends by itself.
//
// Errors of the JSON API are {"error": "..."}, with status 400 for bad
// input. The package imports no other gateway: the server passes the native
// gateway's counters in as functions (Config).
package httpapi

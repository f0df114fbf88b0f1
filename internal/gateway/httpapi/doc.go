// Package httpapi is Ferry's HTTP front door for operators: liveness and
// readiness probes, Prometheus metrics and a small read-only JSON API.
//
//	GET /healthz                 200 "ok" while the server runs
//	GET /readyz                  200 once the native listener accepts, 503 before and during shutdown
//	GET /metrics                 Prometheus text format, read from the broker's counters at scrape time
//	GET /api/v1/server           server name, version, uptime and counters
//	GET /api/v1/endpoints        connected endpoints; ?where=SELECTOR filters them
//	GET /api/v1/groups           multicast groups and their members
//	GET /api/v1/explain          how a send would be routed (?subject=&mode=&where=&policy=&near=LAT,LON&to=&key=)
//
// Errors of the JSON API are {"error": "..."}, with status 400 for bad
// input. The package imports no other gateway: the server passes the native
// gateway's counters in as functions (Config).
package httpapi

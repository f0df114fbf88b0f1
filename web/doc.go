// Package web is Ferry's operator dashboard: one HTML page, three scripts
// (static/app.js, static/panels.js, static/world.js) and one style sheet,
// embedded in the binary with go:embed. There is no build
// step, no framework and nothing fetched from elsewhere (no map tiles, no
// web fonts): the world map is an inline SVG in an equirectangular
// projection.
//
// The page reads the JSON API of internal/gateway/httpapi: it follows the
// Server-Sent Events stream /api/v1/events (one "snapshot" a second: the
// server's counters, endpoints, groups, busiest subjects, open streams,
// durable logs, recent routing decisions and events) and calls
// /api/v1/explain for the explain form. httpapi mounts Handler at "GET /"
// and "GET /static/". static/app.js follows the stream and draws the
// server counters, the map and the explain form; static/panels.js the
// tables (decisions, subjects, streams, logs, events); static/world.js
// holds the coarse land outlines drawn under the endpoints.
//
// browser_test.go opens the page in headless Chromium (/usr/bin/chromium)
// against a real server and saves a screenshot to $FERRY_ARTIFACTS; it is
// skipped without Chromium unless CI is set.
package web

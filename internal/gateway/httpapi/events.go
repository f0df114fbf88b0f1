package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/ferrymq/ferry/internal/broker"
)

// Snapshot is the data of one "snapshot" event on /api/v1/events: what
// /api/v1/server, /api/v1/endpoints, /api/v1/groups, /api/v1/subjects,
// /api/v1/streams and /api/v1/logs answer, together, with the newest 50
// decisions and events.
type Snapshot struct {
	Server    ServerInfo            `json:"server"`
	Endpoints []broker.EndpointView `json:"endpoints"`
	Groups    []broker.GroupInfo    `json:"groups"`
	Subjects  []broker.SubjectRate  `json:"subjects"`
	Streams   StreamList            `json:"streams"`
	Logs      []LogView             `json:"logs"`
	Decisions []broker.Decision     `json:"decisions"`
	Events    []broker.Event        `json:"events"`
}

func (h *Handler) snapshot() Snapshot {
	eps, _ := h.cfg.Broker.Endpoints(nil) // the empty selector cannot fail
	if eps == nil {
		eps = []broker.EndpointView{}
	}
	g := h.cfg.Broker.Groups()
	if g == nil {
		g = []broker.GroupInfo{}
	}
	lv := h.logViews()
	h.watch(lv)
	ev := h.cfg.Broker.Events()
	return Snapshot{Server: h.serverInfo(), Endpoints: eps, Groups: g,
		Subjects: h.topSubjects(DefaultTopSubjects), Streams: h.streamList(), Logs: lv,
		Decisions: h.cfg.Broker.RecentDecisions(snapshotDecisions), Events: ev[:min(len(ev), snapshotEvents)]}
}

// eventStream serves /api/v1/events as Server-Sent Events: a "snapshot"
// at once and then every EventInterval, until the client goes away or
// Close is called. At most MaxEventClients streams are open at a time.
func (h *Handler) eventStream(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.done:
		writeError(w, http.StatusServiceUnavailable, "server is shutting down")
		return
	default:
	}
	select {
	case h.events <- struct{}{}:
		defer func() { <-h.events }()
	default:
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "too many event streams open; try again later")
		return
	}
	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // let reverse proxies pass events through
	w.WriteHeader(http.StatusOK)

	tick := time.NewTicker(h.cfg.EventInterval)
	defer tick.Stop()
	for {
		js, err := json.Marshal(h.snapshot())
		if err != nil {
			return
		}
		// A client that stops reading must not hold the handler forever.
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write([]byte("event: snapshot\ndata: ")); err != nil {
			return
		}
		if _, err := w.Write(append(js, '\n', '\n')); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case <-tick.C:
		}
	}
}

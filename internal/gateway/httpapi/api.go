package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/route"
)

// ServerInfo is the answer of /api/v1/server.
type ServerInfo struct {
	Server           string            `json:"server"`
	Version          string            `json:"version"`
	UptimeSeconds    float64           `json:"uptime_seconds"`
	Connections      int               `json:"connections"`
	Endpoints        int               `json:"endpoints"`
	Subscriptions    int64             `json:"subscriptions"`
	MessagesIn       uint64            `json:"messages_in"`
	MessagesInByMode map[string]uint64 `json:"messages_in_by_mode"`
	BytesIn          uint64            `json:"bytes_in"`
	MessagesOut      uint64            `json:"messages_out"`
	BytesOut         uint64            `json:"bytes_out"`
	NoReceivers      uint64            `json:"no_receivers"`
	SlowConsumers    uint64            `json:"slow_consumers"`
	Dropped          uint64            `json:"dropped"`
	Failovers        uint64            `json:"failovers"`
	Streams          uint64            `json:"streams"`
	StreamMessages   uint64            `json:"stream_messages"`
	StreamStalls     uint64            `json:"stream_stalls"`
}

func (h *Handler) server(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.serverInfo())
}

func (h *Handler) serverInfo() ServerInfo {
	st := h.cfg.Broker.Stats()
	byMode := make(map[string]uint64, len(st.MsgsInByMode))
	for i, n := range st.MsgsInByMode {
		byMode[modeNames[i]] = n
	}
	return ServerInfo{
		Server: h.cfg.Name, Version: h.cfg.Version, UptimeSeconds: h.uptime(&st).Seconds(),
		Connections: h.connections(), Endpoints: st.Endpoints, Subscriptions: st.Subscriptions,
		MessagesIn: st.MsgsIn, MessagesInByMode: byMode, BytesIn: st.BytesIn,
		MessagesOut: st.MsgsOut, BytesOut: st.BytesOut, NoReceivers: st.NoReceivers,
		SlowConsumers: st.SlowConsumers, Dropped: h.dropped(), Failovers: st.Failovers,
		Streams: st.Streams, StreamMessages: st.StreamMsgs, StreamStalls: st.StreamStalls,
	}
}

func (h *Handler) endpoints(w http.ResponseWriter, r *http.Request) {
	eps, err := h.cfg.Broker.Endpoints([]byte(r.URL.Query().Get("where")))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if eps == nil {
		eps = []broker.EndpointView{}
	}
	writeJSON(w, http.StatusOK, eps)
}

func (h *Handler) groups(w http.ResponseWriter, _ *http.Request) {
	g := h.cfg.Broker.Groups()
	if g == nil {
		g = []broker.GroupInfo{}
	}
	writeJSON(w, http.StatusOK, g)
}

func (h *Handler) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	subj := q.Get("subject")
	if subj == "" {
		writeError(w, http.StatusBadRequest, "subject is required")
		return
	}
	t, err := parseTarget(q.Get("mode"), q.Get("to"), q.Get("where"), q.Get("policy"), q.Get("near"), q.Get("key"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ex, err := h.cfg.Broker.Explain(nil, []byte(subj), t)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ex)
}

// parseTarget builds an explain target from query parameters. The mode is
// required and must be a targeted one.
func parseTarget(mode, to, where, policy, near, key string) (broker.Target, error) {
	t := broker.Target{To: []byte(to), Where: []byte(where), Key: []byte(key)}
	m, ok := parseMode(mode)
	switch {
	case mode == "":
		return t, errors.New("mode is required: unicast, broadcast, multicast or anycast")
	case !ok:
		return t, fmt.Errorf("unknown mode %q: want unicast, broadcast, multicast or anycast", mode)
	case m == broker.ModePublish:
		return t, errors.New("explain covers targeted sends: unicast, broadcast, multicast or anycast")
	case m == broker.ModeUnicast && to == "":
		return t, errors.New("unicast needs to=ENDPOINT_ID")
	case m == broker.ModeMulticast && to == "" && where == "":
		return t, errors.New("multicast needs to=GROUP or where=SELECTOR")
	}
	t.Mode = m
	if policy != "" {
		if m != broker.ModeAnycast {
			return t, errors.New("policy applies to anycast only")
		}
		p, err := route.ParsePolicy(policy)
		if err != nil {
			return t, err
		}
		t.Policy = p
	}
	if near != "" {
		lat, lon, err := parseLatLon(near)
		if err != nil {
			return t, err
		}
		t.HasNear, t.Lat, t.Lon = true, lat, lon
	}
	return t, nil
}

func parseMode(s string) (broker.Mode, bool) {
	for i, n := range modeNames {
		if strings.EqualFold(s, n) {
			return broker.Mode(i), true
		}
	}
	return 0, false
}

// parseLatLon parses "LAT,LON" in degrees.
func parseLatLon(s string) (lat, lon float64, err error) {
	a, b, ok := strings.Cut(s, ",")
	if ok {
		lat, err = strconv.ParseFloat(strings.TrimSpace(a), 64)
		if err == nil {
			lon, err = strconv.ParseFloat(strings.TrimSpace(b), 64)
		}
	}
	if !ok || err != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return 0, 0, fmt.Errorf("near %q is not LAT,LON in degrees (like 48.86,2.35)", s)
	}
	return lat, lon, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	js, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(js, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	js, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(js, '\n'))
}

package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/ferrymq/ferry/internal/logs"
)

// Bounds of what the dashboard API returns.
const (
	DefaultTopSubjects = 20  // /api/v1/subjects without ?limit
	MaxTopSubjects     = 100 // the largest ?limit
	maxStreams         = 200 // streams listed; StreamList.Total has the count
	snapshotDecisions  = 50  // decisions in one snapshot event
	snapshotEvents     = 50  // events in one snapshot event
)

// LogView is one durable log as the dashboard shows it.
type LogView struct {
	Name      string         `json:"name"`
	Subjects  []string       `json:"subjects"`
	Storage   string         `json:"storage"`
	Messages  uint64         `json:"messages"`
	Bytes     int64          `json:"bytes"`
	FirstSeq  uint64         `json:"first_seq"`
	LastSeq   uint64         `json:"last_seq"`
	ReadOnly  string         `json:"read_only,omitempty"` // why appends are refused
	Consumers []ConsumerView `json:"consumers"`
}

// ConsumerView is one consumer of a log. Lag is the log's last sequence
// minus the consumer's ack floor: messages not yet done.
type ConsumerView struct {
	Name      string `json:"name"`
	Durable   bool   `json:"durable"`
	Delivered uint64 `json:"delivered"`
	AckFloor  uint64 `json:"ack_floor"`
	Lag       uint64 `json:"lag"`
	Pending   int    `json:"pending"` // delivered, not acknowledged
}

// LogViews converts the logs manager's descriptions for Config.Logs.
func LogViews(infos []logs.LogInfo) []LogView {
	out := make([]LogView, 0, len(infos))
	for _, in := range infos {
		st := in.State
		v := LogView{
			Name: in.Config.Name, Subjects: in.Config.Subjects, Storage: in.Config.Storage,
			Messages: st.Msgs, Bytes: st.Bytes, FirstSeq: st.FirstSeq, LastSeq: st.LastSeq,
			Consumers: make([]ConsumerView, 0, len(in.Consumers)),
		}
		if v.Subjects == nil {
			v.Subjects = []string{}
		}
		if st.ReadOnly != nil {
			v.ReadOnly = st.ReadOnly.Error()
		}
		for _, c := range in.Consumers {
			cv := ConsumerView{Name: c.Name, Durable: c.Durable, Delivered: c.Delivered, AckFloor: c.AckFloor, Pending: c.Pending}
			if st.LastSeq > c.AckFloor {
				cv.Lag = st.LastSeq - c.AckFloor
			}
			v.Consumers = append(v.Consumers, cv)
		}
		out = append(out, v)
	}
	return out
}

// StreamList is the answer of /api/v1/streams: at most 200 streams, oldest
// first, and how many are open.
type StreamList struct {
	Total   int                 `json:"total"`
	Streams []broker.StreamView `json:"streams"`
}

// watcher turns what only the handler sees into broker events: drops
// counted by the native gateway, logs that turned read-only.
type watcher struct {
	mu       sync.Mutex
	dropped  uint64
	readOnly map[string]bool
}

// watch records events for changes since the last call.
func (h *Handler) watch(lv []LogView) {
	w := &h.watcher
	w.mu.Lock()
	defer w.mu.Unlock()
	if d := h.dropped(); d > w.dropped {
		h.cfg.Broker.RecordEvent(broker.EventDropped, fmt.Sprintf("%d messages dropped by backpressure policies (%d in all)", d-w.dropped, d))
		w.dropped = d
	}
	for _, l := range lv {
		switch {
		case l.ReadOnly != "" && !w.readOnly[l.Name]:
			if w.readOnly == nil {
				w.readOnly = make(map[string]bool)
			}
			w.readOnly[l.Name] = true
			h.cfg.Broker.RecordEvent(broker.EventLogReadOnly, fmt.Sprintf("log %s refuses appends: %s", l.Name, l.ReadOnly))
		case l.ReadOnly == "" && w.readOnly[l.Name]:
			delete(w.readOnly, l.Name)
		}
	}
}

func (h *Handler) logViews() []LogView {
	if h.cfg.Logs == nil {
		return []LogView{}
	}
	lv := h.cfg.Logs()
	if lv == nil {
		lv = []LogView{}
	}
	return lv
}

func (h *Handler) streamList() StreamList {
	s := h.cfg.Broker.Streams()
	return StreamList{Total: len(s), Streams: s[:min(len(s), maxStreams)]}
}

func (h *Handler) topSubjects(k int) []broker.SubjectRate {
	s := h.cfg.Broker.TopSubjects(k)
	if s == nil {
		s = []broker.SubjectRate{}
	}
	return s
}

func (h *Handler) decisions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.cfg.Broker.Decisions())
}

func (h *Handler) subjects(w http.ResponseWriter, r *http.Request) {
	k := DefaultTopSubjects
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxTopSubjects {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to %d", s, MaxTopSubjects))
			return
		}
		k = n
	}
	writeJSON(w, http.StatusOK, h.topSubjects(k))
}

func (h *Handler) streams(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.streamList())
}

func (h *Handler) logs(w http.ResponseWriter, _ *http.Request) {
	lv := h.logViews()
	h.watch(lv)
	writeJSON(w, http.StatusOK, lv)
}

func (h *Handler) recentEvents(w http.ResponseWriter, _ *http.Request) {
	h.watch(h.logViews())
	writeJSON(w, http.StatusOK, h.cfg.Broker.Events())
}

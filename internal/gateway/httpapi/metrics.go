package httpapi

import (
	"maps"
	"slices"

	"github.com/ferrymq/ferry/internal/broker"
	"github.com/prometheus/client_golang/prometheus"
)

// collector turns the broker's counters into metrics at scrape time, so
// metrics cost nothing per message. Series are bounded: the only label is
// the routing mode (five values).
type collector struct {
	h *Handler

	connections, endpoints, subscriptions, uptime, info *prometheus.Desc
	msgsIn, bytesIn, msgsOut, bytesOut                  *prometheus.Desc
	noReceivers, slowConsumers, dropped, failovers      *prometheus.Desc
	streams, streamMsgs, streamStalls                   *prometheus.Desc
}

// modeNames are the values of the mode label, indexed by broker.Mode.
var modeNames = func() (n [broker.NumModes]string) {
	for i := range n {
		n[i] = broker.Mode(i).String()
	}
	return n
}()

func newCollector(h *Handler) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ferry_"+name, help, labels, nil)
	}
	return &collector{
		h:             h,
		connections:   d("connections", "Open client connections."),
		endpoints:     d("endpoints", "Connected endpoints."),
		subscriptions: d("subscriptions", "Live subscriptions."),
		uptime:        d("uptime_seconds", "Seconds since the server started."),
		info:          d("info", "Server identity; always 1.", "server", "version"),
		msgsIn:        d("messages_in_total", "Messages published, by routing mode.", "mode"),
		bytesIn:       d("bytes_in_total", "Payload bytes published, by routing mode.", "mode"),
		msgsOut:       d("messages_out_total", "Deliveries to subscriptions, by the routing mode of the message.", "mode"),
		bytesOut:      d("bytes_out_total", "Payload bytes delivered, by the routing mode of the message.", "mode"),
		noReceivers:   d("no_receivers_total", "Publishes that reached nobody."),
		slowConsumers: d("slow_consumers_total", "Connections cut for falling behind."),
		dropped:       d("dropped_total", "Messages dropped before delivery, by reason: a backpressure policy (drop-newest, drop-oldest, latest-per-key) or a lossy stream at max_pending.", "reason"),
		failovers:     d("failovers_total", "Anycast requests handed to the next candidate."),
		streams:       d("streams_total", "Streams and channels opened."),
		streamMsgs:    d("stream_messages_total", "Stream messages relayed (once per sender message)."),
		streamStalls:  d("stream_stalls_total", "Times a cut-slow stream was held back by one receiver."),
	}
}

func (c *collector) descs() []*prometheus.Desc {
	return []*prometheus.Desc{c.connections, c.endpoints, c.subscriptions, c.uptime, c.info,
		c.msgsIn, c.bytesIn, c.msgsOut, c.bytesOut, c.noReceivers, c.slowConsumers, c.dropped,
		c.failovers, c.streams, c.streamMsgs, c.streamStalls}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.h.cfg.Broker.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.connections, float64(c.h.connections()))
	gauge(c.endpoints, float64(st.Endpoints))
	gauge(c.subscriptions, float64(st.Subscriptions))
	gauge(c.uptime, c.h.uptime(&st).Seconds())
	gauge(c.info, 1, c.h.cfg.Name, c.h.cfg.Version)
	for i, m := range st.ByMode {
		counter(c.msgsIn, m.MsgsIn, modeNames[i])
		counter(c.bytesIn, m.BytesIn, modeNames[i])
		counter(c.msgsOut, m.MsgsOut, modeNames[i])
		counter(c.bytesOut, m.BytesOut, modeNames[i])
	}
	counter(c.noReceivers, st.NoReceivers)
	counter(c.slowConsumers, st.SlowConsumers)
	drops := c.h.drops()
	for _, reason := range slices.Sorted(maps.Keys(drops)) {
		counter(c.dropped, drops[reason], reason)
	}
	counter(c.failovers, st.Failovers)
	counter(c.streams, st.Streams)
	counter(c.streamMsgs, st.StreamMsgs)
	counter(c.streamStalls, st.StreamStalls)
}

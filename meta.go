package ferry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ferrymq/ferry/internal/wire"
)

// Limits on endpoint metadata, the same as the server's (docs/protocol.md).
const (
	maxLabels      = 64
	maxLabelKey    = 63
	maxLabelValue  = 255
	maxRegionBytes = 64
)

// endpointMeta is what the broker routes on besides the ID: the region,
// labels and location. It is replaced whole; labels is never modified in
// place.
type endpointMeta struct {
	region   string
	labels   map[string]string
	hasLoc   bool
	lat, lon float64
}

func metaFromOptions(o *options) endpointMeta {
	return endpointMeta{region: o.region, labels: maps.Clone(o.labels), hasLoc: o.hasLocation, lat: o.lat, lon: o.lon}
}

// wireLabels returns the labels sorted by key, for a deterministic frame.
func (m *endpointMeta) wireLabels() []wire.Label {
	ls := make([]wire.Label, 0, len(m.labels))
	for _, k := range slices.Sorted(maps.Keys(m.labels)) {
		ls = append(ls, wire.Label{Key: k, Value: m.labels[k]})
	}
	return ls
}

func (m *endpointMeta) frame(ref uint64) *wire.Meta {
	return &wire.Meta{Ref: ref, Region: m.region, Labels: m.wireLabels(), HasLocation: m.hasLoc, Lat: m.lat, Lon: m.lon}
}

// validate applies the server's limits, so that most mistakes are reported
// without a round trip.
func (m *endpointMeta) validate() error {
	if len(m.labels) > maxLabels {
		return fmt.Errorf("%w: %d labels, limit is %d", ErrInvalidMeta, len(m.labels), maxLabels)
	}
	for k, v := range m.labels {
		if k == "" || len(k) > maxLabelKey || strings.ContainsAny(k, " \t\r\n,=!()") {
			return fmt.Errorf("%w: label key %q must be 1 to %d bytes without spaces or , = ! ( )", ErrInvalidMeta, k, maxLabelKey)
		}
		if len(v) > maxLabelValue || strings.ContainsAny(v, " \t\r\n,()") {
			return fmt.Errorf("%w: label %s: value %q must be at most %d bytes without spaces or , ( )", ErrInvalidMeta, k, v, maxLabelValue)
		}
	}
	if len(m.region) > maxRegionBytes || strings.ContainsAny(m.region, " \t\r\n") {
		return fmt.Errorf("%w: region %q must be at most %d bytes without spaces", ErrInvalidMeta, m.region, maxRegionBytes)
	}
	if m.hasLoc {
		if err := checkLocation(m.lat, m.lon); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidMeta, err)
		}
	}
	return nil
}

// checkLocation checks a point in degrees.
func checkLocation(lat, lon float64) error {
	if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return fmt.Errorf("location %v,%v is outside latitude -90..90 and longitude -180..180", lat, lon)
	}
	return nil
}

// dialOptions returns the options for a reconnect's handshake, carrying the
// current metadata, and the metadata generation they carry.
func (c *Conn) dialOptions() (options, uint64) {
	c.metaMu.Lock()
	defer c.metaMu.Unlock()
	o := c.opts
	o.region, o.labels = c.meta.region, maps.Clone(c.meta.labels)
	o.hasLocation, o.lat, o.lon = c.meta.hasLoc, c.meta.lat, c.meta.lon
	return o, c.metaGen
}

// SetLabels replaces all of the endpoint's labels with the key, value pairs
// in kv (SetLabels(ctx) removes them all). Routing uses the new labels from
// the next message on: selectors (Where, MulticastWhere) see them at once.
//
// Like SetRegion and SetLocation it sends the full metadata (region, labels
// and location) and waits for the server to accept it. Keys are 1–63 bytes
// without spaces or , = ! ( ); values are at most 255 bytes without spaces or
// , ( ); at most 64 labels. A violation, or an odd number of arguments, is
// ErrInvalidMeta. The Conn keeps the values: after a reconnect the endpoint
// has them again. While disconnected the change is kept and sent on
// reconnect, and SetLabels returns nil.
func (c *Conn) SetLabels(ctx context.Context, kv ...string) error {
	if len(kv)%2 != 0 {
		return fmt.Errorf("%w: SetLabels needs key, value pairs; got %d arguments", ErrInvalidMeta, len(kv))
	}
	labels := make(map[string]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	return c.setMeta(ctx, func(m *endpointMeta) { m.labels = labels })
}

// SetRegion sets the endpoint's region (at most 64 bytes, no spaces; empty
// clears it). Nearest ranks candidates in the sender's region first among
// equals. See SetLabels for how the change is sent.
func (c *Conn) SetRegion(ctx context.Context, region string) error {
	return c.setMeta(ctx, func(m *endpointMeta) { m.region = region })
}

// SetLocation sets the endpoint's location in degrees (latitude −90..90,
// longitude −180..180, else ErrInvalidMeta). Nearest measures great-circle
// distances from and to it. See SetLabels for how the change is sent.
func (c *Conn) SetLocation(ctx context.Context, lat, lon float64) error {
	return c.setMeta(ctx, func(m *endpointMeta) { m.hasLoc, m.lat, m.lon = true, lat, lon })
}

// Labels returns a copy of the endpoint's current labels.
func (c *Conn) Labels() map[string]string {
	c.metaMu.Lock()
	defer c.metaMu.Unlock()
	return maps.Clone(c.meta.labels)
}

// setMeta applies update to a copy of the metadata, validates it, sends it
// whole as META and waits for the answer. A refusal by the server restores
// the previous values, unless another change came meanwhile.
func (c *Conn) setMeta(ctx context.Context, update func(*endpointMeta)) error {
	c.metaMu.Lock()
	next := c.meta
	update(&next)
	if err := next.validate(); err != nil {
		c.metaMu.Unlock()
		return err
	}
	if next.labels == nil {
		next.labels = map[string]string{}
	}
	ref := c.nextRef.Add(1)
	answer := c.addRef(ref)
	sent, err := c.w.appendCtl(next.frame(ref), false)
	if err != nil {
		c.metaMu.Unlock()
		c.dropRef(ref)
		return err
	}
	prev := c.meta
	c.meta = next
	c.metaGen++
	gen := c.metaGen
	c.metaMu.Unlock()
	if !sent {
		c.dropRef(ref)
		return nil
	}
	_, err = c.awaitRef(ctx, ref, answer)
	switch {
	case err == nil, errors.Is(err, ErrDisconnected):
		return nil // a lost META is re-sent on reconnect
	case isServerErr(err):
		c.metaMu.Lock()
		if c.metaGen == gen {
			c.meta = prev
			c.metaGen++
		}
		c.metaMu.Unlock()
	}
	return fmt.Errorf("ferry: set endpoint metadata: %w", err)
}

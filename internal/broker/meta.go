package broker

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ferrymq/ferry/internal/route"
	"github.com/ferrymq/ferry/internal/selector"
)

// Meta is what routing knows about an endpoint: where it is and what it
// is. It is replaced whole, never modified, so routing reads it without
// locks.
type Meta struct {
	Name        string
	Region      string
	Labels      selector.Map
	HasLocation bool
	Lat, Lon    float64
	XYZ         [3]float64 // the location as a unit vector, for fast distances
}

// Limits on endpoint metadata.
const (
	MaxLabels      = 64
	MaxLabelKey    = 63
	MaxLabelValue  = 255
	MaxRegionBytes = 64
)

// validateMeta checks labels, region and location.
func validateMeta(m *Meta) error {
	if len(m.Labels) > MaxLabels {
		return fmt.Errorf("%w: %d labels, limit is %d", ErrInvalidMeta, len(m.Labels), MaxLabels)
	}
	for k, v := range m.Labels {
		if k == "" || len(k) > MaxLabelKey || strings.ContainsAny(k, " \t\r\n,=!()") {
			return fmt.Errorf("%w: label key %q must be 1 to %d characters without spaces or , = ! ( )", ErrInvalidMeta, k, MaxLabelKey)
		}
		if len(v) > MaxLabelValue || strings.ContainsAny(v, " \t\r\n,()") {
			return fmt.Errorf("%w: label %s value %q must be at most %d characters without spaces or , ( )", ErrInvalidMeta, k, v, MaxLabelValue)
		}
	}
	if len(m.Region) > MaxRegionBytes || strings.ContainsAny(m.Region, " \t\r\n") {
		return fmt.Errorf("%w: region %q must be at most %d characters without spaces", ErrInvalidMeta, m.Region, MaxRegionBytes)
	}
	if m.HasLocation && !(m.Lat >= -90 && m.Lat <= 90 && m.Lon >= -180 && m.Lon <= 180) {
		return fmt.Errorf("%w: location %v,%v is outside latitude -90..90 and longitude -180..180", ErrInvalidMeta, m.Lat, m.Lon)
	}
	if math.IsNaN(m.Lat) || math.IsNaN(m.Lon) {
		return fmt.Errorf("%w: location is not a number", ErrInvalidMeta)
	}
	m.XYZ = [3]float64{}
	if m.HasLocation {
		m.XYZ = route.UnitVector(m.Lat, m.Lon)
	}
	return nil
}

// Meta returns the endpoint's current metadata; the caller must not modify
// it.
func (e *Endpoint) Meta() *Meta { return e.meta.Load() }

// SetMeta replaces ep's region, labels and location (the name is kept).
// Routing uses the new metadata from the next message on.
func (b *Broker) SetMeta(ep *Endpoint, m Meta) error {
	m.Labels = maps.Clone(m.Labels)
	if err := validateMeta(&m); err != nil {
		return err
	}
	m.Name = ep.meta.Load().Name
	ep.meta.Store(&m)
	return nil
}

// listChangedLocked records that the set of endpoints changed; the
// ID-ordered snapshot is rebuilt lazily by the next reader, so a storm of
// connects costs O(1) each instead of a sort each. b.mu must be held for
// writing.
func (b *Broker) listChangedLocked() {
	b.list.Store(nil)
}

// allEndpoints returns all endpoints in ID order; callers must not modify
// the slice. It rebuilds the snapshot after a change.
func (b *Broker) allEndpoints() []*Endpoint {
	if p := b.list.Load(); p != nil {
		return *p
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.list.Load(); p != nil {
		return *p
	}
	list := make([]*Endpoint, 0, len(b.endpoints))
	for _, ep := range b.endpoints {
		list = append(list, ep)
	}
	slices.SortFunc(list, func(x, y *Endpoint) int { return strings.Compare(x.id, y.id) })
	b.list.Store(&list)
	return list
}

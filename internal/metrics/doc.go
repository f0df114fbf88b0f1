// Package metrics holds the histograms a server records as things happen:
// request latency and log appends. Counters that the broker keeps anyway
// are read at scrape time instead (see internal/gateway/httpapi); only
// distributions, which cannot be rebuilt from totals, are recorded here.
//
// A nil *Set records nothing, so packages take one optionally.
package metrics

// Package route makes Ferry's pure routing decisions: given the candidates
// for an anycast send and a policy, it ranks them, so the first is chosen
// and the rest are the failover order. It has no state of its own; the
// caller supplies round-robin counters and randomness, which keeps every
// decision reproducible in tests.
package route

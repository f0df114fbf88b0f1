// Package clock gives time-dependent code a clock it can be handed: Real in
// production, Fake in tests, where time moves only when the test says so.
package clock

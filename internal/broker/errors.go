package broker

import "errors"

// Errors returned by the broker; transports map them to wire codes.
var (
	ErrInvalidSubject  = errors.New("invalid subject")
	ErrPayloadTooLarge = errors.New("payload too large")
	ErrHeadersTooLarge = errors.New("headers too large")
	ErrInvalidHeaders  = errors.New("invalid headers")
	ErrTooManySubs     = errors.New("too many subscriptions")
	ErrDuplicateSID    = errors.New("duplicate subscription ID")
	ErrUnknownSID      = errors.New("unknown subscription ID")
	ErrIDInUse         = errors.New("endpoint ID in use")
	ErrInvalidID       = errors.New("invalid endpoint ID")
	ErrInvalidTarget   = errors.New("invalid target")
	ErrNotSupported    = errors.New("not supported")
	ErrClosed          = errors.New("endpoint disconnected")
	ErrInvalidMeta     = errors.New("invalid endpoint metadata")
	ErrNotMember       = errors.New("not a member of the group")
	// ErrNotStored: a durable log captures the subject but could not
	// store the message (it wraps the log's error); it was not delivered.
	ErrNotStored = errors.New("not stored in a durable log")
)

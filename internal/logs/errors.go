package logs

import "errors"

// Errors to branch on with errors.Is.
var (
	// ErrNotFound means the log or consumer does not exist.
	ErrNotFound = errors.New("logs: not found")
	// ErrExists means a log or consumer of that name exists (with a
	// different configuration, for a consumer).
	ErrExists = errors.New("logs: already exists")
	// ErrInvalid means a bad name, pattern, setting or argument.
	ErrInvalid = errors.New("logs: invalid")
	// ErrClosed means the manager, log or consumer was closed or deleted.
	ErrClosed = errors.New("logs: closed")
	// ErrUndeliverable, wrapped by a DeliverFunc's error, says the
	// delivery can never succeed (too large, say): the record is
	// dead-lettered at once instead of retried.
	ErrUndeliverable = errors.New("logs: undeliverable")
)

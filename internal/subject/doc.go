// Package subject validates message subjects and subscription patterns,
// matches subjects against patterns, and provides Index, a concurrent
// subscription index used on the broker's publish hot path.
//
// # Subjects
//
// A subject is a non-empty sequence of tokens separated by dots, for
// example "orders.eu.created". Tokens are compared byte-wise and are case
// sensitive. A subject is valid for publishing when:
//
//   - it is not empty and no token is empty (no leading or trailing dot,
//     no "..");
//   - it contains no whitespace or control characters: space, tab, CR, LF,
//     any byte below 0x20, and DEL (0x7f). Other bytes, including UTF-8
//     sequences, are allowed and not otherwise checked;
//   - it contains no wildcard: a token may not be "*" or ">", and the bytes
//     '*' and '>' may not appear inside a token either;
//   - it respects the Limits: at most MaxBytes bytes (default 256) and at
//     most MaxTokens tokens (default 32).
//
// # Patterns
//
// A subscription pattern follows the same rules except that two whole
// tokens act as wildcards:
//
//   - "*" matches exactly one token: "orders.*.created" matches
//     "orders.eu.created" but not "orders.created" or "orders.eu.x.created";
//   - ">" matches one or more remaining tokens and is only valid as the last
//     token: "orders.>" matches "orders.eu" and "orders.eu.created" but not
//     "orders".
//
// Wildcard bytes inside a token ("a*", "b>c") are rejected rather than
// treated literally, so that a typo never silently becomes a literal
// subscription.
//
// # Errors
//
// Every validation error matches ErrInvalid with errors.Is. Length, token
// count and wildcard-in-publish problems additionally match ErrTooLong,
// ErrTooManyTokens and ErrWildcard. The concrete type is *Error, whose
// message names the problem, its byte position or the limit, e.g.
//
//	subject "a..b": empty token at byte 2: subject: invalid subject
//	pattern "a.>.b": wildcard '>' not last token at byte 2: subject: invalid subject
//	subject "xxxx...": subject is 300 bytes, limit is 256: subject: subject too long
//
// Error.Input keeps at most the first 64 bytes of the offending input.
//
// # Matching
//
// Match is a small allocation-free reference matcher suitable for a handful
// of patterns. Index stores (pattern, value) pairs in a token trie with a
// map per node and fronts it with a bounded cache of match results, so that
// repeated publishes on the same subject cost one map lookup and no
// allocation.
package subject

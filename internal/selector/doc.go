// Package selector parses and matches label selectors: the one condition
// language Ferry uses wherever a set of endpoints is chosen by their labels
// (multicast by selector, anycast candidates, `ferry endpoints --where`).
//
//	type=camera,subnet=10.0.1.0/24
//	region in (eu,us),version!=1,tier,!draining
//
// # Grammar
//
// Whitespace (space, tab, CR, LF) may appear between any two tokens and is
// ignored. Keywords are lowercase and case sensitive.
//
//	selector    = [ requirement { "," requirement } ] .
//	requirement = key ( "=" | "==" | "!=" ) value
//	            | key ( "in" | "notin" ) "(" value1 { "," value1 } ")"
//	            | key
//	            | "!" key .
//	key         = alnum { keychar } .            (1..63 bytes)
//	value       = { keychar | ":" } .            (0..255 bytes)
//	value1      = ( keychar | ":" ) { keychar | ":" } .
//	keychar     = alnum | "-" | "_" | "." | "/" .
//	alnum       = "a".."z" | "A".."Z" | "0".."9" .
//
// Letters and digits are ASCII only; there are no quotes, escapes or
// wildcards. A value after "=" or "!=" may be empty ("k=" matches a label k
// whose value is empty); values in a list may not be. A word between a key
// and "(" other than "in" or "notin" is an error, so `k IN (a)` is rejected.
//
// # Semantics
//
// Requirements are joined by AND; the empty selector matches everything.
// Duplicate keys are allowed and each requirement must hold.
//
//	k=v        label k is present with value v
//	k!=v       not k=v: also true when label k is absent
//	k in (..)  k=v for some v in the list
//	k notin .. not k in (..): also true when label k is absent
//	k          label k is present (with any value, even empty)
//	!k         label k is absent
//
// # CIDR values
//
// A value is a CIDR prefix when it contains '/' and the text before the
// first '/' looks like an IP address: a digit followed by only digits and
// dots, at least one of them a dot (IPv4), or a colon and only hex digits,
// colons and dots (IPv6).
// Such a value must be a valid prefix whose host bits are zero, or Parse
// fails: "10.0.1.0/33", "10.0.1/24" and "10.0.1.17/24" are errors. Any
// other value containing '/' ("team/infra") is an ordinary literal.
//
// A requirement K=P, with P a CIDR prefix, matches an endpoint when
//
//	(a) its label K equals the text P exactly, or
//	(b) its label K holds an IP address inside P, or
//	(c) K is "subnet" and its label "ip" holds an IP address inside P.
//
// So `subnet=10.0.1.0/24` matches an endpoint labelled ip=10.0.1.17.
// K!=P is the negation of K=P; `K in (...)` matches when K=v matches for
// any element v, literal or prefix, and notin is its negation. Label
// addresses are parsed like netip.ParseAddr: a dotted quad without leading
// zeros, or IPv6 text, whose zone ("%eth0") is ignored. IPv4-mapped IPv6
// addresses and prefixes (::ffff:10.0.1.17, ::ffff:10.0.1.0/120) are
// treated as the IPv4 ones. Values that are single addresses ("ip=10.0.1.17")
// are compared as text.
//
// # Limits and errors
//
// Parse accepts at most MaxLen bytes of text, MaxRequirements requirements
// and MaxValues values per list. Every error is a *SyntaxError giving the
// byte offset of the problem, and matches ErrSyntax; limit errors also match
// ErrLimit:
//
//	selector "a,,b": position 2: expected a key after ','
//
// # Matching
//
// Parse does all the work it can: CIDR prefixes are parsed once, and
// Selector.Matches does not allocate, so it can run per message over
// thousands of endpoints.
package selector

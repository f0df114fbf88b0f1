// Command ferry runs a Ferry broker and talks to one.
//
// Server:
//
//	ferry serve [--listen ADDR] [--config FILE] [--data DIR] [--name N]
//	            [--log-level debug|info|warn|error] [--log-format text|json]
//
// Configuration precedence is flags, then FERRY_* environment variables, then
// the TOML file, then defaults; testdata/ferry.toml documents every key.
//
// Client commands, each connecting as one endpoint (--server or FERRY_SERVER,
// --id, --name, --region, --label k=v, --location LAT,LON, --connect-timeout):
//
//	ferry pub SUBJECT [DATA]          publish DATA, or one message per stdin line
//	ferry sub PATTERN                 print the messages on matching subjects
//	                                  (--backpressure disconnect|block|drop-newest|drop-oldest|latest-per-key, --limit N)
//	ferry req SUBJECT DATA            send a request (--to ID: unicast), print the reply
//	ferry reply SUBJECT [DATA]        answer requests with DATA or --echo
//	ferry send ENDPOINT SUBJECT DATA  deliver to one endpoint by its ID
//	ferry listen [PATTERN]            print messages targeted at this endpoint
//
// Routing commands (the same client flags; selectors as in docs/selectors.md):
//
//	ferry broadcast SUBJECT DATA      every endpoint (--where SEL); --request gathers replies
//	ferry multicast GROUP SUBJECT DATA
//	ferry multicast --where SEL SUBJECT DATA
//	                                  every member of a group, or of a selector
//	ferry anycast SUBJECT DATA        one endpoint chosen by --policy (--request, --ack)
//	ferry join GROUP [PATTERN]        join a group, print the messages sent to it
//	ferry groups                      list groups and members
//	ferry endpoints                   list endpoints (--where SEL)
//	ferry route explain TARGET        show how a send would be routed
//
// Streaming commands (the same client flags; docs/streams.md):
//
//	ferry stream SUBJECT              send stdin lines as one ordered, flow-controlled
//	ferry stream @ID --subject S      stream: to every acceptor of SUBJECT, to one
//	ferry stream anycast --subject S  endpoint, or to one chosen by --policy
//	ferry stream --accept [PATTERN]   accept streams, print "STREAM SEQ from SENDER SUBJECT: PAYLOAD"
//	ferry channel @ID SERVICE         a channel both ways: stdin lines out, messages
//	ferry channel anycast SERVICE     printed; stdin EOF half-closes
//	ferry channel --listen SERVICE    accept --count channels, one after the other
//
// sub, listen, reply and join print "ferry: subscribed to …", "ferry:
// listening on … as ID", "ferry: replying on … as ID" and "ferry: joined
// GROUP, listening on … as ID" to stderr once the broker has their
// subscription, so scripts and tests can wait for them; so do stream
// --accept ("ferry: accepting streams on … as ID") and channel --listen
// ("ferry: listening for channels on … as ID").
//
// Errors are printed as "ferry: message" on stderr. Exit status: 0 success,
// 1 error, 2 usage error, 130 interrupted before the command could finish
// (sub, listen, reply, join, stream --accept, channel --listen and serve
// exit 0 on SIGINT or SIGTERM).
package main

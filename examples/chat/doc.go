// Command chat is a runnable example of Ferry's channels, streams in both
// directions between two endpoints: an "echo" service answers every
// message upper-cased, and a client dials it, sends a few lines (or stdin
// with -interactive), prints the replies, half-closes, and exits once the
// service has half-closed too.
//
//	go run ./examples/chat                                 # embedded broker
//	go run ./examples/chat hello 'how are you?'            # your own lines
//	go run ./examples/chat -interactive                    # type lines, Ctrl-D to end
//	go run ./examples/chat -server ferry://127.0.0.1:7420 -role echo
//	go run ./examples/chat -server ferry://127.0.0.1:7420 -role client
//
// See README.md.
package main

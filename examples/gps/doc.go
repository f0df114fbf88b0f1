// Command gps is a runnable example of Ferry's unidirectional streams: a
// tracker streams a GPS track, one "lat,lon" fix per message, through the
// broker to every dashboard accepting streams on "gps.>". Each dashboard
// checks that it got every fix, in order.
//
//	go run ./examples/gps                                  # embedded broker
//	go run ./examples/gps -track examples/gps/track.txt    # a recorded track
//	go run ./examples/gps -server ferry://127.0.0.1:7420   # a running 'ferry serve'
//
// It exits with status 0 when both dashboards received the whole track in
// order, and 1 otherwise. See README.md.
package main

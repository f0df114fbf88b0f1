// Package ferry is the Go client for the Ferry message broker.
//
// Connect dials a broker and identifies this program as an endpoint: an
// address (its ID) plus labels, a region and a location that the broker can
// route on. On a connection you publish to subjects (publish-subscribe and
// fan-out), subscribe to subject patterns (alone, or sharing the work in a
// group), send to one endpoint by its ID (unicast) and make requests that
// are answered once.
//
//	nc, err := ferry.Connect("ferry://127.0.0.1:7420", ferry.WithLabels("type", "worker"))
//	if err != nil { ... }
//	defer nc.Close()
//	sub, _ := nc.Subscribe("orders.>", func(m *ferry.Msg) { fmt.Println(m.Subject, string(m.Data)) })
//	nc.Publish("orders.eu.created", []byte("order 1"))
//
// A Conn is safe for concurrent use. It reconnects on its own after a lost
// connection, with backoff, and restores its subscriptions.
package ferry

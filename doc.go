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
//
// # Delivery
//
// Publish queues the message and returns; one writer goroutine per Conn
// coalesces queued frames into few writes. Flush waits until the server has
// processed everything sent before it. Send, SendMsg and Request wait for
// the server's routing answer, so they report ErrNoResponders at once when
// nobody can receive the message.
//
// Each subscription has its own goroutine and a bounded queue of received
// messages (WithSubPending): its handler sees messages in order, one at a
// time, and a slow handler delays no other subscription. When the queue is
// full, messages are dropped, counted in Subscription.Dropped and reported
// (once per episode) as ErrSlowConsumer to the error handler.
//
// The error and state handlers run on a goroutine of their own, one call at
// a time, so they may call back into the Conn.
//
// # Reconnecting
//
// When the connection is lost the Conn redials with exponential backoff and
// jitter, asking for the same endpoint ID, so unicast addresses survive.
// Meanwhile Publish buffers up to WithReconnectBuffer bytes, Subscribe and
// Unsubscribe take effect locally, and calls that need the server's answer
// (Send, Request, Flush) fail with ErrDisconnected, as do those waiting when
// the connection was lost. After the handshake, subscriptions are restored
// before the buffered publishes are sent.
package ferry

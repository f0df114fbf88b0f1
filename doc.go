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
// # Routing
//
// A Msg's Target says who may receive it: the zero Target publishes to
// the subscribers of the subject; ToEndpoint, Broadcast, Multicast (a
// joined group), MulticastWhere (a label selector) and Anycast (one
// candidate chosen by a Policy: Nearest, LeastLoaded, RoundRobin, Random,
// Hash) target endpoints. A subscription's scope says which sends it takes:
// Subscribe is topic scope (plain publishes), Handle inbox scope (targeted
// at this endpoint), HandleGroup group scope (multicast groups joined with
// Join), Respond topic and inbox; WithScope overrides it.
//
//	nc.SendMsg(ctx, &ferry.Msg{Subject: "cmd.reboot", Target: ferry.MulticastWhere("type=camera,subnet=10.0.1.0/24")})
//	r, err := nc.RequestMsg(ctx, &ferry.Msg{Subject: "content.get", Target: ferry.Anycast(ferry.Nearest).Where("type=edge")})
//
// Endpoints are routed on their labels, region and location (WithLabels,
// WithRegion, WithLocation at Connect; SetLabels, SetRegion, SetLocation
// later). Endpoints, Groups and Explain ask the broker what it knows and
// how it would route a send.
//
// Receivers that will not answer a request decline it (Msg.Decline; a
// Respond handler returning nil), so that RequestMany completes as soon as
// every receiver reached has answered or declined, and an anycast request
// moves to the next candidate at once. SendAck asks the receiving library
// to acknowledge once its handler returned. Replies and acknowledgements
// carry the answering endpoint in From.
//
// # Streams and channels
//
// A stream is a live, ordered, flow-controlled sequence of messages from one
// sender (docs/streams.md). OpenStream opens one on a subject: with the
// zero Target the broker relays it to every endpoint accepting streams on
// that subject (HandleStreams, ListenStreams); ToEndpoint and Anycast pick
// one receiver. Stream.Send numbers the messages 1, 2, 3… (Msg.Seq) and
// waits while the receivers' window is used up, so nothing is dropped and
// nothing piles up in the broker. With several receivers the slowest paces
// the stream, unless WithCutSlow lets the broker cut a receiver that stalls
// it (its Recv fails with ErrSlowReceiver).
//
//	st, err := nc.OpenStream(ctx, "gps.phone1", ferry.Target{})
//	st.Send(ctx, []byte("52.52,13.40"))
//	st.Close() // receivers get io.EOF after the last message
//
// A channel is a stream in both directions with one peer: Listen accepts
// channels to a service, Dial opens one (to ToEndpoint or Anycast). Each
// side sends until it half-closes (CloseSend); the other side's Recv then
// returns io.EOF. Close ends both directions.
//
// Receivers grant a window (WithWindow; 256 messages and 1 MiB by
// default) when a stream arrives and re-grant what Recv consumed, in
// batches of half the window; the client buffers at most the window per
// stream. When the peer's connection closes, Recv and Send fail at once
// with ErrPeerGone; when a party aborts, with ErrStreamAborted. Streams and
// channels do not survive a lost connection: they fail with an error
// matching ErrDisconnected, while the listeners (stream-scope
// subscriptions) are restored like other subscriptions.
//
// # Backpressure
//
// WithBackpressure chooses, per subscription, what the server does when
// the subscription's messages pile up because the connection reads too
// slowly: disconnect (the default), block the publisher, drop the newest,
// drop the oldest, or keep the latest per key. Drops the server reports
// are counted in Subscription.Dropped and passed to the error handler as
// ErrSlowConsumer.
//
// # Reconnecting
//
// When the connection is lost the Conn redials with exponential backoff and
// jitter, asking for the same endpoint ID, so unicast addresses survive,
// with its current labels, region and location; it re-joins its groups.
// Meanwhile Publish buffers up to WithReconnectBuffer bytes, Subscribe and
// Unsubscribe take effect locally, and calls that need the server's answer
// (Send, Request, Flush) fail with ErrDisconnected, as do those waiting when
// the connection was lost. After the handshake, subscriptions are restored
// before the buffered publishes are sent.
package ferry

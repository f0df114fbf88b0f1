package ferry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sort"
	"sync"
	"time"

	"github.com/ferrymq/ferry"
	"github.com/ferrymq/ferry/ferrytest"
)

// startServer starts an in-process broker for an example. A real program
// connects to a running broker instead (ferry.DefaultURL).
func startServer() *ferrytest.Server {
	s, err := ferrytest.Start()
	if err != nil {
		log.Fatal(err)
	}
	return s
}

func ExampleConnect() {
	s := startServer()
	defer s.Shutdown()

	nc, err := ferry.Connect(s.URL(),
		ferry.WithID("camera-7"),
		ferry.WithName("front door camera"),
		ferry.WithLabels("type", "camera", "subnet", "10.0.1.0/24"),
		ferry.WithRegion("eu-central"),
		ferry.WithLocation(50.11, 8.68),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	fmt.Println("connected as", nc.ID())

	// A second connection cannot hold the same endpoint ID.
	_, err = ferry.Connect(s.URL(), ferry.WithID("camera-7"))
	fmt.Println(errors.Is(err, ferry.ErrIDInUse))
	// Output:
	// connected as camera-7
	// true
}

func ExampleConn_Publish() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	done := make(chan struct{})
	nc.Subscribe("orders.>", func(m *ferry.Msg) {
		fmt.Printf("%s: %s\n", m.Subject, m.Data)
		close(done)
	})
	if err := nc.Publish("orders.eu.created", []byte("order 1")); err != nil {
		log.Fatal(err)
	}
	<-done
	// Output: orders.eu.created: order 1
}

func ExampleConn_PublishMsg() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	got := make(chan *ferry.Msg, 1)
	nc.SubscribeChan("audit", got)
	m := &ferry.Msg{Subject: "audit", Data: []byte("login")}
	m.Header.Add("User", "alice")
	nc.PublishMsg(m)
	r := <-got
	fmt.Println(string(r.Data), "by", r.Header.Get("User"))
	// Output: login by alice
}

func ExampleConn_Subscribe() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	var wg sync.WaitGroup
	wg.Add(3)
	sub, err := nc.Subscribe("sensors.*.temperature", func(m *ferry.Msg) {
		fmt.Printf("%s = %s\n", m.Subject, m.Data)
		wg.Done()
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Unsubscribe()
	nc.Publish("sensors.kitchen.temperature", []byte("21.5"))
	nc.Publish("sensors.kitchen.humidity", []byte("40")) // does not match
	nc.Publish("sensors.garage.temperature", []byte("12.0"))
	nc.Publish("sensors.attic.temperature", []byte("25.1"))
	wg.Wait()
	// Output:
	// sensors.kitchen.temperature = 21.5
	// sensors.garage.temperature = 12.0
	// sensors.attic.temperature = 25.1
}

func ExampleConn_SubscribeChan() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	ch := make(chan *ferry.Msg, 16)
	if _, err := nc.SubscribeChan("ticks", ch); err != nil {
		log.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		nc.Publish("ticks", fmt.Appendf(nil, "tick %d", i))
	}
	for range 3 {
		fmt.Println(string((<-ch).Data))
	}
	// Output:
	// tick 1
	// tick 2
	// tick 3
}

func ExampleConn_QueueSubscribe() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	// Three workers share the jobs: each job goes to exactly one of them.
	var mu sync.Mutex
	var wg sync.WaitGroup
	var done []string
	wg.Add(6)
	for w := 1; w <= 3; w++ {
		nc.QueueSubscribe("jobs.resize", "resizers", func(m *ferry.Msg) {
			mu.Lock()
			done = append(done, string(m.Data))
			mu.Unlock()
			wg.Done()
		})
	}
	for i := 1; i <= 6; i++ {
		nc.Publish("jobs.resize", fmt.Appendf(nil, "image-%d", i))
	}
	wg.Wait()
	sort.Strings(done)
	fmt.Println(done)
	// Output: [image-1 image-2 image-3 image-4 image-5 image-6]
}

func ExampleConn_Request() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	nc.Respond("time.zone", func(m *ferry.Msg) []byte { return []byte("Europe/Berlin") })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	reply, err := nc.Request(ctx, "time.zone", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(reply.Data))

	// Nobody listens on this subject: the request fails at once.
	_, err = nc.Request(ctx, "weather.today", nil)
	fmt.Println(errors.Is(err, ferry.ErrNoResponders))
	// Output:
	// Europe/Berlin
	// true
}

func ExampleConn_Respond() {
	s := startServer()
	defer s.Shutdown()
	svc, err := ferry.Connect(s.URL(), ferry.WithID("calc"))
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()
	client, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Respond listens in topic and inbox scope: it answers requests on the
	// subject and requests sent to this endpoint.
	svc.Respond("calc.upper", func(m *ferry.Msg) []byte {
		out := make([]byte, len(m.Data))
		for i, c := range m.Data {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out[i] = c
		}
		return out
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r1, err := client.Request(ctx, "calc.upper", []byte("ferry"))
	if err != nil {
		log.Fatal(err)
	}
	r2, err := client.RequestMsg(ctx, &ferry.Msg{Subject: "calc.upper", Data: []byte("direct"), Target: ferry.ToEndpoint("calc")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(r1.Data), string(r2.Data), r2.From)
	// Output: FERRY DIRECT calc
}

func ExampleConn_Send() {
	s := startServer()
	defer s.Shutdown()
	cam, err := ferry.Connect(s.URL(), ferry.WithID("cam-1"))
	if err != nil {
		log.Fatal(err)
	}
	defer cam.Close()
	ctl, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer ctl.Close()

	got := make(chan *ferry.Msg, 1)
	cam.Handle("cmd.>", func(m *ferry.Msg) { got <- m })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := ctl.Send(ctx, "cam-1", "cmd.zoom", []byte("2x")); err != nil {
		log.Fatal(err)
	}
	m := <-got
	fmt.Println(m.Subject, string(m.Data), m.Mode)

	err = ctl.Send(ctx, "cam-2", "cmd.zoom", []byte("2x"))
	fmt.Println(errors.Is(err, ferry.ErrNoResponders))
	// Output:
	// cmd.zoom 2x unicast
	// true
}

func ExampleConn_Handle() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL(), ferry.WithID("printer-3"))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	// Handle receives only messages targeted at this endpoint, not plain
	// publishes on the same subject.
	got := make(chan string, 2)
	nc.Handle("print", func(m *ferry.Msg) { got <- string(m.Data) })
	nc.Publish("print", []byte("broadcast to subscribers"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := nc.SendMsg(ctx, &ferry.Msg{Subject: "print", Data: []byte("page 1"), Target: ferry.ToEndpoint("printer-3")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, <-got)
	// Output: 1 page 1
}

func ExampleConn_Flush() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	for i := range 1000 {
		nc.Publish("metrics", fmt.Appendf(nil, "%d", i))
	}
	// Publish does not wait; Flush waits until the server processed all.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fmt.Println(nc.Flush(ctx))
	// Output: <nil>
}

func ExampleConn_Drain() {
	s := startServer()
	defer s.Shutdown()
	nc, err := ferry.Connect(s.URL())
	if err != nil {
		log.Fatal(err)
	}

	var mu sync.Mutex
	handled := 0
	nc.Subscribe("work", func(*ferry.Msg) {
		mu.Lock()
		handled++
		mu.Unlock()
	})
	for range 20 {
		nc.Publish("work", nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc.Flush(ctx)
	// Drain lets the handler finish every message received, then closes.
	if err := nc.Drain(ctx); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	fmt.Println(handled, nc.IsClosed())
	mu.Unlock()
	// Output: 20 true
}

func ExampleWithStateHandler() {
	s := startServer()
	defer s.Shutdown()
	states := make(chan ferry.State, 4)
	nc, err := ferry.Connect(s.URL(), ferry.WithStateHandler(func(st ferry.State) { states <- st }))
	if err != nil {
		log.Fatal(err)
	}
	nc.Close()
	fmt.Println(<-states)
	// Output: closed
}

// mustConnect connects to an example's server or exits.
func mustConnect(url string, opts ...ferry.Option) *ferry.Conn {
	nc, err := ferry.Connect(url, opts...)
	if err != nil {
		log.Fatal(err)
	}
	return nc
}

// Multicast to a joined group: IPTV. Members receive group messages on
// their group-scope subscriptions (HandleGroup).
func ExampleConn_Join() {
	s := startServer()
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	tv := mustConnect(s.URL(), ferry.WithID("tv-1"))
	defer tv.Close()
	got := make(chan *ferry.Msg, 1)
	tv.HandleGroup(">", func(m *ferry.Msg) { got <- m })
	if err := tv.Join(ctx, "channel.7"); err != nil {
		log.Fatal(err)
	}

	headend := mustConnect(s.URL())
	defer headend.Close()
	n, err := headend.SendMsg(ctx, &ferry.Msg{Subject: "video.frame", Data: []byte("frame 1"), Target: ferry.Multicast("channel.7")})
	fmt.Println("reached", n, err)
	m := <-got
	fmt.Printf("%s: %s on %s (%v)\n", tv.ID(), m.Data, m.Subject, m.Mode)

	tv.Leave(ctx, "channel.7")
	_, err = headend.SendMsg(ctx, &ferry.Msg{Subject: "video.frame", Target: ferry.Multicast("channel.7")})
	fmt.Println(errors.Is(err, ferry.ErrNoResponders))
	// Output:
	// reached 1 <nil>
	// tv-1: frame 1 on video.frame (multicast)
	// true
}

// Multicast by selector: every endpoint whose ip label is inside a subnet.
func ExampleMulticastWhere() {
	s := startServer()
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	got := make(chan string, 3)
	for id, ip := range map[string]string{"cam-1": "10.0.1.17", "cam-2": "10.0.1.18", "cam-3": "10.0.2.5"} {
		nc := mustConnect(s.URL(), ferry.WithID(id), ferry.WithLabels("type", "camera", "ip", ip))
		defer nc.Close()
		nc.Handle("cmd.>", func(m *ferry.Msg) { got <- nc.ID() })
	}
	admin := mustConnect(s.URL())
	defer admin.Close()
	n, err := admin.SendMsg(ctx, &ferry.Msg{Subject: "cmd.reboot", Target: ferry.MulticastWhere("type=camera,subnet=10.0.1.0/24")})
	if err != nil {
		log.Fatal(err)
	}
	ids := []string{<-got, <-got}
	sort.Strings(ids)
	fmt.Println(n, ids)
	// Output: 2 [cam-1 cam-2]
}

// Scatter-gather over a broadcast: ARP. The hosts that do not have the
// address decline (their Respond handler returns nil), so RequestMany ends
// as soon as everyone has spoken instead of waiting for a timeout.
func ExampleConn_RequestMany() {
	s := startServer()
	defer s.Shutdown()
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("10.0.0.%d", i)
		host := mustConnect(s.URL(), ferry.WithID(fmt.Sprintf("host-%d", i)), ferry.WithLabels("ip", ip))
		defer host.Close()
		host.Respond("arp.who-has", func(m *ferry.Msg) []byte {
			if string(m.Data) != ip {
				return nil // decline
			}
			return []byte(ip + " is at " + host.ID())
		})
	}
	asker := mustConnect(s.URL())
	defer asker.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g, err := asker.RequestMany(ctx, &ferry.Msg{Subject: "arp.who-has", Data: []byte("10.0.0.2"), Target: ferry.Broadcast()})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range g.Replies {
		fmt.Printf("%s (from %s)\n", r.Data, r.From)
	}
	fmt.Printf("reached %d, declined %d, complete %v\n", g.Reached, g.Declined, g.Complete)
	// Output:
	// 10.0.0.2 is at host-2 (from host-2)
	// reached 3, declined 2, complete true
}

// Anycast to the nearest candidate: a CDN. The request goes to the edge
// closest to the requester's location; the reply's From names it.
func ExampleAnycast() {
	s := startServer()
	defer s.Shutdown()
	for _, e := range []struct {
		id       string
		lat, lon float64
	}{{"edge-fra", 50.11, 8.68}, {"edge-iad", 38.95, -77.45}, {"edge-sin", 1.35, 103.82}} {
		nc := mustConnect(s.URL(), ferry.WithID(e.id), ferry.WithLabels("type", "edge"), ferry.WithLocation(e.lat, e.lon))
		defer nc.Close()
		nc.Respond("content.get", func(m *ferry.Msg) []byte { return []byte("content of " + string(m.Data)) })
	}
	paris := mustConnect(s.URL(), ferry.WithLocation(48.86, 2.35))
	defer paris.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := paris.RequestMsg(ctx, &ferry.Msg{
		Subject: "content.get",
		Data:    []byte("/index.html"),
		Target:  ferry.Anycast(ferry.Nearest).Where("type=edge"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, served by %s\n", r.Data, r.From)

	// Explain shows the decision without sending anything.
	ex, err := paris.Explain(ctx, "content.get", ferry.Anycast(ferry.Nearest).Where("type=edge"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ex.Chosen, ex.Reason)
	// Output:
	// content of /index.html, served by edge-fra
	// [edge-fra] nearest: edge-fra is 478 km away, the closest candidate with a location
}

// Labels can change at run time; routing uses them from the next message.
func ExampleConn_SetLabels() {
	s := startServer()
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	cam := mustConnect(s.URL(), ferry.WithID("cam-9"), ferry.WithLabels("type", "camera"))
	defer cam.Close()
	cam.Handle("cmd.>", func(*ferry.Msg) {})
	admin := mustConnect(s.URL())
	defer admin.Close()
	toMaintenance := &ferry.Msg{Subject: "cmd.update", Target: ferry.MulticastWhere("type=camera,mode=maintenance")}

	_, err := admin.SendMsg(ctx, toMaintenance)
	fmt.Println("before:", errors.Is(err, ferry.ErrNoResponders))

	if err := cam.SetLabels(ctx, "type", "camera", "mode", "maintenance"); err != nil {
		log.Fatal(err)
	}
	n, err := admin.SendMsg(ctx, toMaintenance)
	fmt.Println("after:", n, err)

	eps, err := admin.Endpoints(ctx, "mode=maintenance")
	if err != nil {
		log.Fatal(err)
	}
	for _, ep := range eps {
		fmt.Println(ep.ID, ep.Labels)
	}
	// Output:
	// before: true
	// after: 1 <nil>
	// cam-9 map[mode:maintenance type:camera]
}

// A one-way stream through the broker: a phone streams its GPS fixes to
// every dashboard accepting streams on gps.>. Messages arrive in order,
// flow-controlled, and the dashboard sees io.EOF after the phone's Close.
func ExampleConn_OpenStream() {
	s := startServer()
	defer s.Shutdown()
	phone := mustConnect(s.URL(), ferry.WithID("phone1"))
	defer phone.Close()
	dash := mustConnect(s.URL(), ferry.WithID("dashboard"))
	defer dash.Close()

	done := make(chan struct{})
	dash.HandleStreams("gps.>", func(in *ferry.IncomingStream) {
		defer close(done)
		for {
			m, err := in.Recv(context.Background())
			if err == io.EOF {
				fmt.Println("end of stream")
				return
			}
			if err != nil {
				fmt.Println("stream failed:", err)
				return
			}
			fmt.Printf("%s #%d from %s: %s\n", m.Subject, m.Seq, m.From, m.Data)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := phone.OpenStream(ctx, "gps.phone1", ferry.Target{})
	if err != nil {
		log.Fatal(err)
	}
	for _, fix := range []string{"52.5200,13.4050", "52.5201,13.4052", "52.5203,13.4055"} {
		if err := st.Send(ctx, []byte(fix)); err != nil {
			log.Fatal(err)
		}
	}
	st.Close()
	<-done
	// Output:
	// gps.phone1 #1 from phone1: 52.5200,13.4050
	// gps.phone1 #2 from phone1: 52.5201,13.4052
	// gps.phone1 #3 from phone1: 52.5203,13.4055
	// end of stream
}

// ListenStreams takes streams one by one with Accept; here a log shipper
// streams straight to one collector by its endpoint ID.
func ExampleConn_ListenStreams() {
	s := startServer()
	defer s.Shutdown()
	collector := mustConnect(s.URL(), ferry.WithID("collector"))
	defer collector.Close()
	app := mustConnect(s.URL(), ferry.WithID("app-7"))
	defer app.Close()

	ln, err := collector.ListenStreams("logs.>", ferry.WithWindow(64, 64<<10))
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := app.OpenStream(ctx, "logs.app", ferry.ToEndpoint("collector"),
		ferry.WithStreamHeader("format", "text"))
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		st.Send(ctx, []byte("started"))
		st.SendMsg(ctx, &ferry.Msg{Header: ferry.Header{{Key: "level", Value: "warn"}}, Data: []byte("disk 91% full")})
		st.Close()
	}()

	in, err := ln.Accept(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("stream from %s on %s (%s)\n", in.From(), in.Subject(), in.Header().Get("format"))
	for {
		m, err := in.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			break
		}
		if level := m.Header.Get("level"); level != "" {
			fmt.Printf("#%d %s: %s\n", m.Seq, level, m.Data)
			continue
		}
		fmt.Printf("#%d %s\n", m.Seq, m.Data)
	}
	// Output:
	// stream from app-7 on logs.app (text)
	// #1 started
	// #2 warn: disk 91% full
	// EOF
}

// A channel: a bidirectional stream with one peer. The service listens;
// the client dials it, both send until each has half-closed.
func ExampleConn_Dial() {
	s := startServer()
	defer s.Shutdown()
	svc := mustConnect(s.URL(), ferry.WithID("echo-1"), ferry.WithLabels("svc", "echo"))
	defer svc.Close()
	client := mustConnect(s.URL())
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ln, err := svc.Listen("echo")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		ch, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		for {
			m, err := ch.Recv(ctx)
			if err != nil { // io.EOF: the client is done sending
				ch.CloseSend()
				return
			}
			ch.Send(ctx, bytes.ToUpper(m.Data))
		}
	}()

	ch, err := client.Dial(ctx, ferry.Anycast(ferry.Nearest).Where("svc=echo"), "echo")
	if err != nil {
		log.Fatal(err)
	}
	for _, word := range []string{"hello", "channel"} {
		ch.Send(ctx, []byte(word))
		m, err := ch.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("#%d %s\n", m.Seq, m.Data)
	}
	ch.CloseSend()
	_, err = ch.Recv(ctx)
	fmt.Println(err)
	<-ch.Done()
	fmt.Println("channel ended:", ch.Err())
	// Output:
	// #1 HELLO
	// #2 CHANNEL
	// EOF
	// channel ended: <nil>
}

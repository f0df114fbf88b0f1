package ferry_test

import (
	"context"
	"errors"
	"fmt"
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

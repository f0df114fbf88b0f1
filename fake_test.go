package ferry

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymq/ferry/internal/wire"
)

// fakeServer is a tiny broker speaking the native protocol, for testing the
// client deterministically: it answers CONNECT with INFO, routes PUB to
// matching SUBs (topic scope for publishes, inbox scope for unicast, one
// member per group), answers Refs with OK/ERR and PING with PONG. Hooks let
// a test refuse connects, swallow frames or cut connections.
type fakeServer struct {
	t  testing.TB
	ln net.Listener

	mu         sync.Mutex // guards everything below
	conns      map[*fakeConn]bool
	ids        map[string]*fakeConn
	nextID     int
	maxPayload uint64
	maxHeaders uint64
	connects   []wire.Connect
	unsubs     []uint64
	pongs      int
	groupNext  int
	metas      []wire.Meta       // META frames received, in order
	members    []wire.Membership // JOIN and LEAVE frames received, in order

	// refuse, when set, may refuse a CONNECT with an ERR frame.
	refuse func(cn *wire.Connect) *wire.Err
	// onPub, when set, sees every PUB first; returning true means handled.
	onPub func(fc *fakeConn, p *wire.Pub) bool
	// onSub, when set, may refuse a SUB with an ERR frame.
	onSub func(s *wire.Sub) *wire.Err
	// onQuery, when set, answers a QUERY with a RESULT body or an ERR;
	// without it the answer is "[]".
	onQuery func(q *wire.Query) ([]byte, *wire.Err)
	// ignorePing makes the server stop answering PINGs.
	ignorePing bool
	// ignoreSub makes the server take SUBs without answering their Ref.
	ignoreSub bool
	// streamIn records the stream frames received (copies), in order.
	streamIn []wire.Frame
	// onStream, when set, sees every stream frame (after it is recorded).
	onStream func(fc *fakeConn, f wire.Frame)

	wg sync.WaitGroup
}

type fakeConn struct {
	s    *fakeServer
	nc   net.Conn
	id   string
	subs map[uint64]fakeSub // guarded by s.mu

	wmu sync.Mutex // guards writes to nc
}

type fakeSub struct {
	pattern, group string
	scope          wire.Scope
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, conns: map[*fakeConn]bool{}, ids: map[string]*fakeConn{},
		maxPayload: 1 << 20, maxHeaders: 4 << 10}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) url() string { return "ferry://" + s.ln.Addr().String() }

func (s *fakeServer) close() {
	s.ln.Close()
	s.dropAll()
	s.wg.Wait()
}

// dropAll cuts every client connection.
func (s *fakeServer) dropAll() {
	s.mu.Lock()
	for fc := range s.conns {
		fc.nc.Close()
	}
	s.mu.Unlock()
}

func (s *fakeServer) set(fn func(s *fakeServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *fakeServer) numConnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.connects)
}

// conn returns the one client connection.
func (s *fakeServer) conn(t testing.TB) *fakeConn {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) != 1 {
		t.Fatalf("fake server has %d connections, want 1", len(s.conns))
	}
	for fc := range s.conns {
		return fc
	}
	return nil
}

func (s *fakeServer) lastConnect() wire.Connect {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects[len(s.connects)-1]
}

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(nc)
		}()
	}
}

func (s *fakeServer) serve(nc net.Conn) {
	defer nc.Close()
	r := wire.NewReader(nc, 1<<24)
	fc, err := s.handshake(nc, r)
	if err != nil {
		return
	}
	defer func() {
		s.mu.Lock()
		delete(s.conns, fc)
		if s.ids[fc.id] == fc {
			delete(s.ids, fc.id)
		}
		s.mu.Unlock()
	}()
	for {
		op, body, err := r.Next()
		if err != nil {
			return
		}
		f, err := wire.Decode(op, body)
		if err != nil {
			s.t.Errorf("fake server: decode %v: %v", op, err)
			return
		}
		s.handle(fc, f)
	}
}

func (s *fakeServer) handshake(nc net.Conn, r *wire.Reader) (*fakeConn, error) {
	op, body, err := r.Next()
	if err != nil || op != wire.OpConnect {
		return nil, fmt.Errorf("no CONNECT: %v %v", op, err)
	}
	var cn wire.Connect
	if err := cn.Decode(body); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.connects = append(s.connects, cn)
	var refusal *wire.Err
	if s.refuse != nil {
		refusal = s.refuse(&cn)
	}
	if refusal == nil && s.ids[cn.ID] != nil {
		refusal = &wire.Err{Code: wire.CodeIDInUse, Message: "endpoint ID " + cn.ID + " in use"}
	}
	if refusal != nil {
		s.mu.Unlock()
		nc.Write(refusal.Append(nil))
		return nil, fmt.Errorf("refused")
	}
	fc := &fakeConn{s: s, nc: nc, id: cn.ID, subs: map[uint64]fakeSub{}}
	if fc.id == "" {
		s.nextID++
		fc.id = fmt.Sprintf("ep-%d", s.nextID)
	}
	s.ids[fc.id] = fc
	s.conns[fc] = true
	info := wire.Info{Version: wire.Version, Server: "fake", ID: fc.id,
		MaxPayload: s.maxPayload, MaxHeaders: s.maxHeaders, PingMillis: 30000}
	s.mu.Unlock()
	fc.write(info.Append(nil))
	return fc, nil
}

func (fc *fakeConn) write(b []byte) {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	fc.nc.Write(b)
}

func (fc *fakeConn) send(f wire.Frame) { fc.write(f.Append(nil)) }

func (s *fakeServer) handle(fc *fakeConn, f wire.Frame) {
	switch f := f.(type) {
	case *wire.Pub:
		s.publish(fc, f)
	case *wire.Sub:
		s.subscribe(fc, f)
	case *wire.Unsub:
		s.mu.Lock()
		delete(fc.subs, f.SID)
		s.unsubs = append(s.unsubs, f.SID)
		s.mu.Unlock()
		if f.Ref != 0 {
			fc.send(&wire.Ok{Ref: f.Ref})
		}
	case wire.Empty:
		s.mu.Lock()
		ignore := s.ignorePing
		s.mu.Unlock()
		switch {
		case f.Op == wire.OpPing && !ignore:
			fc.send(wire.Empty{Op: wire.OpPong})
		case f.Op == wire.OpPong:
			s.mu.Lock()
			s.pongs++
			s.mu.Unlock()
		}
	case *wire.Meta:
		s.mu.Lock()
		s.metas = append(s.metas, *f)
		s.mu.Unlock()
		if f.Ref != 0 {
			fc.send(&wire.Ok{Ref: f.Ref})
		}
	case *wire.Membership:
		s.mu.Lock()
		s.members = append(s.members, *f)
		s.mu.Unlock()
		if f.Ref != 0 {
			fc.send(&wire.Ok{Ref: f.Ref})
		}
	case *wire.Query:
		s.mu.Lock()
		hook := s.onQuery
		s.mu.Unlock()
		body, refusal := []byte("[]"), (*wire.Err)(nil)
		if hook != nil {
			body, refusal = hook(f)
		}
		if refusal != nil {
			refusal.Ref = f.Ref
			fc.send(refusal)
			return
		}
		fc.send(&wire.Result{Ref: f.Ref, Body: body})
	case *wire.StreamOpen, *wire.StreamData, *wire.StreamCredit, *wire.StreamClose:
		s.mu.Lock()
		s.streamIn = append(s.streamIn, cloneFrame(f))
		hook := s.onStream
		s.mu.Unlock()
		if hook != nil {
			hook(fc, f)
		}
	default:
		s.t.Errorf("fake server: unexpected %T", f)
	}
}

// cloneFrame copies f out of the read buffer its byte fields alias.
func cloneFrame(f wire.Frame) wire.Frame {
	b := f.Append(nil)
	op, body, _, _, err := wire.Split(b, len(b))
	if err != nil {
		panic(err)
	}
	g, err := wire.Decode(op, body)
	if err != nil {
		panic(err)
	}
	return g
}

// streamFrames returns the stream frames received so far.
func (s *fakeServer) streamFrames() []wire.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.Frame(nil), s.streamIn...)
}

func (s *fakeServer) subscribe(fc *fakeConn, f *wire.Sub) {
	s.mu.Lock()
	var refusal *wire.Err
	if s.onSub != nil {
		refusal = s.onSub(f)
	}
	if refusal == nil {
		if _, dup := fc.subs[f.SID]; dup {
			refusal = &wire.Err{Code: wire.CodeDuplicateSID, Message: "duplicate sid"}
		} else {
			fc.subs[f.SID] = fakeSub{string(f.Pattern), string(f.Group), f.Scope.Normalize()}
		}
	}
	s.mu.Unlock()
	s.mu.Lock()
	ignore := s.ignoreSub
	s.mu.Unlock()
	switch {
	case refusal != nil:
		refusal.Ref = f.Ref
		fc.send(refusal)
	case f.Ref != 0 && !ignore:
		fc.send(&wire.Ok{Ref: f.Ref})
	}
}

// delivery is one MSG to write to one connection.
type delivery struct {
	to  *fakeConn
	sid uint64
}

func (s *fakeServer) publish(fc *fakeConn, p *wire.Pub) {
	s.mu.Lock()
	hook := s.onPub
	s.mu.Unlock()
	if hook != nil && hook(fc, p) {
		return
	}
	if strings.ContainsAny(string(p.Subject), "*> ") {
		fc.send(&wire.Err{Ref: p.Ref, Code: wire.CodeInvalidSubject, Message: "wildcard in subject"})
		return
	}
	ds := s.route(p)
	for _, d := range ds {
		d.to.write(wire.AppendMsg(nil, d.sid, p.Subject, p.Reply, []byte(fc.id), p.Target.Mode, p.Headers, p.Payload))
	}
	if p.Ref != 0 {
		fc.send(&wire.Ok{Ref: p.Ref, Count: uint64(len(ds))})
	}
}

// route picks the receivers of p: every matching subscription of the right
// scope, one per group.
func (s *fakeServer) route(p *wire.Pub) []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ds []delivery
	groups := map[string][]delivery{}
	for c := range s.conns {
		if p.Target.Mode == wire.ModeUnicast && c.id != string(p.Target.To) {
			continue
		}
		for sid, sub := range c.subs {
			scope := wire.ScopeTopic
			if p.Target.Mode != wire.ModePublish {
				scope = wire.ScopeInbox
			}
			if sub.scope&scope == 0 || !fakeMatch(sub.pattern, string(p.Subject)) {
				continue
			}
			if sub.group != "" {
				groups[sub.group] = append(groups[sub.group], delivery{c, sid})
				continue
			}
			ds = append(ds, delivery{c, sid})
		}
	}
	for _, members := range groups {
		s.groupNext++
		ds = append(ds, members[s.groupNext%len(members)])
	}
	return ds
}

// fakeMatch matches a subject against a pattern with '*' and '>'.
func fakeMatch(pattern, subject string) bool {
	pt, st := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

package wire

// Meta replaces the sending endpoint's metadata: region, labels and
// location. Routing sees the change from the next message on.
//
//	ref uvarint | region str | labels | hasLocation byte [lat f64 | lon f64]
type Meta struct {
	Ref         uint64
	Region      string
	Labels      []Label
	HasLocation bool
	Lat, Lon    float64
}

// Append appends m as a frame.
func (m *Meta) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpMeta)
	dst = appendUvarint(dst, m.Ref)
	dst = appendString(dst, m.Region)
	dst = appendLabels(dst, m.Labels)
	dst = appendLocation(dst, m.HasLocation, m.Lat, m.Lon)
	return endFrame(dst, start)
}

// Decode decodes a META body.
func (m *Meta) Decode(body []byte) error {
	d := decoder{b: body}
	m.Ref = d.uvarint("ref")
	m.Region = string(d.bytes("region"))
	m.Labels = d.labels()
	m.HasLocation, m.Lat, m.Lon = d.location()
	return d.done(OpMeta)
}

// Membership joins (OpJoin) or leaves (OpLeave) a named multicast group.
//
//	ref uvarint | group str
type Membership struct {
	Op    Op // OpJoin or OpLeave
	Ref   uint64
	Group string
}

// Append appends m as a frame.
func (m *Membership) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, m.Op)
	dst = appendUvarint(dst, m.Ref)
	dst = appendString(dst, m.Group)
	return endFrame(dst, start)
}

// Decode decodes a JOIN or LEAVE body; m.Op must be set by the caller.
func (m *Membership) Decode(body []byte) error {
	d := decoder{b: body}
	m.Ref = d.uvarint("ref")
	m.Group = string(d.bytes("group"))
	return d.done(m.Op)
}

// QueryKind names what a QUERY asks for.
type QueryKind uint8

// Query kinds.
const (
	QueryEndpoints QueryKind = 1 // connected endpoints, filtered by Where
	QueryGroups    QueryKind = 2 // multicast groups and their members
	QueryExplain   QueryKind = 3 // a routing decision for Target, without sending
	QueryServer    QueryKind = 4 // server identity and counters
	maxQueryKind             = QueryServer
)

// Query asks the server for information; the answer is a RESULT with the
// same Ref carrying JSON (documented in docs/protocol.md), or ERR.
//
//	ref uvarint | kind byte | where str | subject str | target
type Query struct {
	Ref     uint64
	Kind    QueryKind
	Where   []byte
	Subject []byte
	Target  Target
}

// Append appends q as a frame.
func (q *Query) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpQuery)
	dst = appendUvarint(dst, q.Ref)
	dst = append(dst, byte(q.Kind))
	dst = appendBytes(dst, q.Where)
	dst = appendBytes(dst, q.Subject)
	dst = appendTarget(dst, &q.Target)
	return endFrame(dst, start)
}

// Decode decodes a QUERY body; byte fields alias body.
func (q *Query) Decode(body []byte) error {
	d := decoder{b: body}
	q.Ref = d.uvarint("ref")
	q.Kind = QueryKind(d.byte1("kind"))
	if q.Kind == 0 || q.Kind > maxQueryKind {
		d.fail("query kind")
	}
	q.Where = d.bytes("where")
	q.Subject = d.bytes("subject")
	d.target(&q.Target)
	return d.done(OpQuery)
}

// Result answers a QUERY.
//
//	ref uvarint | body bytes (JSON)
type Result struct {
	Ref  uint64
	Body []byte
}

// Append appends r as a frame.
func (r *Result) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpResult)
	dst = appendUvarint(dst, r.Ref)
	dst = appendBytes(dst, r.Body)
	return endFrame(dst, start)
}

// Decode decodes a RESULT body; Body aliases body.
func (r *Result) Decode(body []byte) error {
	d := decoder{b: body}
	r.Ref = d.uvarint("ref")
	r.Body = d.bytes("body")
	return d.done(OpResult)
}

package wire

// Label is one key=value label of an endpoint.
type Label struct{ Key, Value string }

// Connect is the first frame a client sends.
//
//	version uvarint | id str | name str | region str | labels (n uvarint, n × key str value str)
//	| hasLocation byte | [lat f64 | lon f64] | token str
type Connect struct {
	Version     uint64
	ID          string // requested endpoint ID; empty asks the server to assign one
	Name        string // free-form client name, for humans
	Region      string
	Labels      []Label
	HasLocation bool
	Lat, Lon    float64
	Token       string // reserved for authentication
}

// Append appends c as a frame.
func (c *Connect) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpConnect)
	dst = appendUvarint(dst, c.Version)
	dst = appendString(dst, c.ID)
	dst = appendString(dst, c.Name)
	dst = appendString(dst, c.Region)
	dst = appendLabels(dst, c.Labels)
	dst = appendLocation(dst, c.HasLocation, c.Lat, c.Lon)
	dst = appendString(dst, c.Token)
	return endFrame(dst, start)
}

// Decode decodes a CONNECT body.
func (c *Connect) Decode(body []byte) error {
	d := decoder{b: body}
	c.Version = d.uvarint("version")
	c.ID = string(d.bytes("id"))
	c.Name = string(d.bytes("name"))
	c.Region = string(d.bytes("region"))
	c.Labels = d.labels()
	c.HasLocation, c.Lat, c.Lon = d.location()
	c.Token = string(d.bytes("token"))
	return d.done(OpConnect)
}

// Info is the server's answer to a good CONNECT.
//
//	version uvarint | server str | id str | maxPayload uvarint | maxHeaders uvarint | pingMillis uvarint
type Info struct {
	Version    uint64
	Server     string // server name and version, for humans
	ID         string // the endpoint ID this connection holds
	MaxPayload uint64
	MaxHeaders uint64
	PingMillis uint64 // how often the server expects traffic (it PINGs idle clients)
}

// Append appends i as a frame.
func (i *Info) Append(dst []byte) []byte {
	dst, start := beginFrame(dst, OpInfo)
	dst = appendUvarint(dst, i.Version)
	dst = appendString(dst, i.Server)
	dst = appendString(dst, i.ID)
	dst = appendUvarint(dst, i.MaxPayload)
	dst = appendUvarint(dst, i.MaxHeaders)
	dst = appendUvarint(dst, i.PingMillis)
	return endFrame(dst, start)
}

// Decode decodes an INFO body.
func (i *Info) Decode(body []byte) error {
	d := decoder{b: body}
	i.Version = d.uvarint("version")
	i.Server = string(d.bytes("server"))
	i.ID = string(d.bytes("id"))
	i.MaxPayload = d.uvarint("max payload")
	i.MaxHeaders = d.uvarint("max headers")
	i.PingMillis = d.uvarint("ping interval")
	return d.done(OpInfo)
}

// maxLabels bounds the label count a decoder accepts before allocating.
const maxLabels = 1024

func appendLabels(dst []byte, ls []Label) []byte {
	dst = appendUvarint(dst, uint64(len(ls)))
	for _, l := range ls {
		dst = appendString(dst, l.Key)
		dst = appendString(dst, l.Value)
	}
	return dst
}

func (d *decoder) labels() []Label {
	n := d.uvarint("label count")
	if d.err != nil || n == 0 {
		return nil
	}
	if n > maxLabels || n > uint64(len(d.b))/2 {
		d.fail("label count")
		return nil
	}
	ls := make([]Label, 0, n)
	for range n {
		k := string(d.bytes("label key"))
		v := string(d.bytes("label value"))
		if d.err != nil {
			return nil
		}
		ls = append(ls, Label{k, v})
	}
	return ls
}

func appendLocation(dst []byte, has bool, lat, lon float64) []byte {
	if !has {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = appendFloat(dst, lat)
	return appendFloat(dst, lon)
}

func (d *decoder) location() (bool, float64, float64) {
	switch d.byte1("location flag") {
	case 0:
		return false, 0, 0
	case 1:
		return true, d.float("latitude"), d.float("longitude")
	default:
		d.fail("location flag")
		return false, 0, 0
	}
}

package broker

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// With SASL on, kfake differs from Kafka in two ways that clients notice,
// and saslListener's connections mend both:
//
//   - It answers credentials it refuses by closing the connection, where
//     Kafka (since 1.0, KIP-152) first answers the SASLAuthenticate request
//     with SASL_AUTHENTICATION_FAILED; a client then reports a broker that
//     went away instead of a refusal. When kfake closes a connection while
//     a SASLAuthenticate request is unanswered, Kafka's refusal is written
//     first.
//   - It advertises SASLHandshake version 1 only, where Kafka advertises 0
//     to 1; librdkafka (kcat) then takes SCRAM for unsupported. ApiVersions
//     answers advertise 0 to 1; clients pick the highest version both
//     sides know, 1, which kfake serves.
//
// The connections follow the requests they carry: kfake handles one
// request at a time per connection, and writes each response in one
// piece.
type saslListener struct {
	net.Listener
	closing *atomic.Bool // the broker is shutting down: refuse nothing
}

func (l saslListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &saslConn{Conn: conn, closing: l.closing}, nil
}

// Request keys the connections look at.
const (
	saslHandshakeKey    = 17
	apiVersionsKey      = 18
	saslAuthenticateKey = 36
)

type saslConn struct {
	net.Conn
	closing *atomic.Bool

	mu sync.Mutex
	// The request being read: its first 12 bytes (size, key, version,
	// correlation ID) and how much of it is still to come.
	head      [12]byte
	headLen   int
	remaining int64
	// The last request read and whether it is still unanswered.
	key, version int16
	corr         int32
	pending      bool
}

func (c *saslConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.observe(p[:n])
	c.mu.Unlock()
	return n, err
}

// observe follows the request frames in b.
func (c *saslConn) observe(b []byte) {
	for len(b) > 0 {
		if c.remaining > 0 {
			skip := min(int64(len(b)), c.remaining)
			c.remaining -= skip
			b = b[skip:]
			continue
		}
		k := copy(c.head[c.headLen:], b)
		c.headLen += k
		b = b[k:]
		if c.headLen < len(c.head) {
			return
		}
		size := int64(int32(binary.BigEndian.Uint32(c.head[0:4])))
		c.key = int16(binary.BigEndian.Uint16(c.head[4:6]))
		c.version = int16(binary.BigEndian.Uint16(c.head[6:8]))
		c.corr = int32(binary.BigEndian.Uint32(c.head[8:12]))
		c.pending = true
		c.headLen = 0
		c.remaining = max(0, size-8)
	}
}

func (c *saslConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	answers := len(p) >= 8 && c.pending && int32(binary.BigEndian.Uint32(p[4:8])) == c.corr
	key, version := c.key, c.version
	c.mu.Unlock()
	out := p
	if answers && key == apiVersionsKey {
		out = advertiseHandshakeV0(p, version)
	}
	n, err := c.Conn.Write(out)
	if err != nil {
		return min(n, len(p)), err
	}
	if answers {
		c.mu.Lock()
		c.pending = false
		c.mu.Unlock()
	}
	return len(p), nil
}

func (c *saslConn) Close() error {
	c.mu.Lock()
	refuse := c.pending && c.key == saslAuthenticateKey && !c.closing.Load()
	c.pending = false
	version, corr := c.version, c.corr
	c.mu.Unlock()
	if refuse {
		_, _ = c.Conn.Write(refusal(version, corr))
	}
	return c.Conn.Close()
}

// advertiseHandshakeV0 returns the ApiVersions response frame p with
// SASLHandshake advertised from version 0, or p itself if there is
// nothing to change or it does not parse.
func advertiseHandshakeV0(p []byte, version int16) []byte {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = version
	// An ApiVersions response header has no tagged fields, whatever the
	// version.
	if err := resp.ReadFrom(p[8:]); err != nil {
		return p
	}
	changed := false
	for i := range resp.ApiKeys {
		if k := &resp.ApiKeys[i]; k.ApiKey == saslHandshakeKey && k.MinVersion > 0 {
			k.MinVersion, changed = 0, true
		}
	}
	if !changed {
		return p
	}
	out := resp.AppendTo(append(make([]byte, 0, len(p)), p[:8]...))
	binary.BigEndian.PutUint32(out[0:4], uint32(len(out)-4))
	return out
}

// refusal is Kafka's answer to a SASLAuthenticate request whose
// credentials it refuses.
func refusal(version int16, corr int32) []byte {
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.Version = version
	resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
	msg := "invalid username or password"
	resp.ErrorMessage = &msg
	buf := make([]byte, 8, 128) // size, correlation ID
	if resp.IsFlexible() {
		buf = append(buf, 0) // no tagged fields in the header
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf[0:4], uint32(len(buf)-4))
	binary.BigEndian.PutUint32(buf[4:8], uint32(corr))
	return buf
}

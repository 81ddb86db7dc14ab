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
// The connections follow the requests they carry: kfake answers them in
// order, one at a time per connection, and writes each response in one
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

// maxPending bounds the requests a connection follows; a client pipelines
// a few at most.
const maxPending = 16

type request struct {
	key, version int16
	corr         int32
}

type saslConn struct {
	net.Conn
	closing *atomic.Bool

	mu sync.Mutex
	// The request being read: its first 12 bytes (size, key, version,
	// correlation ID) and how much of it is still to come.
	head      [12]byte
	headLen   int
	remaining int64
	// The ApiVersions and SASLAuthenticate requests read and not yet
	// answered, oldest first. kfake answers in order, and reads one
	// request ahead of the one it handles.
	pending []request

	closeOnce sync.Once
	closeErr  error
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
		r := request{
			key:     int16(binary.BigEndian.Uint16(c.head[4:6])),
			version: int16(binary.BigEndian.Uint16(c.head[6:8])),
			corr:    int32(binary.BigEndian.Uint32(c.head[8:12])),
		}
		// Only the requests the connection mends are followed: kfake
		// answers each of them (an acks=0 produce request it does not).
		if r.key == apiVersionsKey || r.key == saslAuthenticateKey {
			if len(c.pending) == maxPending {
				c.pending = c.pending[1:]
			}
			c.pending = append(c.pending, r)
		}
		c.headLen = 0
		c.remaining = max(0, size-8)
	}
}

func (c *saslConn) Write(p []byte) (int, error) {
	var req request
	answers := false
	c.mu.Lock()
	if len(p) >= 8 && len(c.pending) > 0 && int32(binary.BigEndian.Uint32(p[4:8])) == c.pending[0].corr {
		req, answers = c.pending[0], true
		c.pending = c.pending[1:]
	}
	c.mu.Unlock()
	out := p
	if answers && req.key == apiVersionsKey {
		out = advertiseHandshakeV0(p, req.version)
	}
	n, err := c.Conn.Write(out)
	if err != nil {
		return min(n, len(p)), err
	}
	return len(p), nil
}

// Close writes Kafka's refusal first if kfake closes the connection on a
// SASLAuthenticate request. kfake closes a connection from both its
// reading and its writing goroutine: the first Close does it all, and the
// second waits for it, so that the refusal is out before the connection
// is shut.
func (c *saslConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		// During authentication a client sends one request at a time,
		// so an unanswered SASLAuthenticate is the one kfake refused.
		var handled request
		refuse := len(c.pending) > 0 && !c.closing.Load()
		if refuse {
			handled = c.pending[0]
			refuse = handled.key == saslAuthenticateKey
		}
		c.pending = nil
		c.mu.Unlock()
		if refuse {
			_, _ = c.Conn.Write(refusal(handled.version, handled.corr))
		}
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
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

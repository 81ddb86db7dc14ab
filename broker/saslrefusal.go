package broker

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kfake answers credentials it refuses by closing the connection, where
// Kafka (since 1.0, KIP-152) first answers the SASLAuthenticate request
// with SASL_AUTHENTICATION_FAILED. A client then sees a broker that went
// away instead of a refusal, and reports the wrong thing. refusingListener
// restores Kafka's behaviour: its connections watch the requests they
// carry (kfake handles one request at a time per connection) and, when
// kfake closes one while a SASLAuthenticate request is unanswered, write
// Kafka's refusal first.
type refusingListener struct {
	net.Listener
	closing *atomic.Bool // the broker is shutting down: refuse nothing
}

func (l refusingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &refusingConn{Conn: conn, closing: l.closing}, nil
}

type refusingConn struct {
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

const saslAuthenticateKey = 36

func (c *refusingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.observe(p[:n])
	c.mu.Unlock()
	return n, err
}

// observe follows the request frames in b.
func (c *refusingConn) observe(b []byte) {
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

func (c *refusingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err == nil && len(p) >= 8 {
		c.mu.Lock()
		if int32(binary.BigEndian.Uint32(p[4:8])) == c.corr {
			c.pending = false
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *refusingConn) Close() error {
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

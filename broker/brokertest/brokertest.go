// Package brokertest makes what a test of a TLS connection to the
// in-process broker needs: a certificate authority of its own, a server
// certificate for the loopback addresses and a client certificate, all
// signed by that authority, generated in memory (ECDSA P-256, valid for a
// day).
//
//	certs, err := brokertest.NewCerts()
//	b, err := broker.Start(broker.WithTLS(certs.Server))
//	pub, err := producer.Connect(ctx, b.Addrs(), producer.WithTLS(certs.Client))
package brokertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs holds a certificate authority and the certificates it signed, as
// PEM and as ready-made TLS configurations.
type Certs struct {
	// CA is the authority's certificate, PEM-encoded.
	CA []byte
	// ServerCert and ServerKey are the broker's certificate (for
	// localhost, 127.0.0.1 and ::1) and private key, PEM-encoded.
	ServerCert, ServerKey []byte
	// ClientCert and ClientKey are a client's certificate and private
	// key, PEM-encoded.
	ClientCert, ClientKey []byte

	// Server is a configuration for broker.WithTLS: it presents the
	// server certificate and requires a client certificate signed by
	// the authority.
	Server *tls.Config
	// Client trusts the authority and presents the client certificate.
	Client *tls.Config
}

// NewCerts generates a certificate authority, a server certificate and a
// client certificate.
func NewCerts() (*Certs, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rightsize test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("brokertest: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, dns []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     dns,
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, fmt.Errorf("brokertest: %s certificate: %w", cn, err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
	}
	c := &Certs{CA: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	if c.ServerCert, c.ServerKey, err = issue(2, "localhost", x509.ExtKeyUsageServerAuth,
		[]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}); err != nil {
		return nil, err
	}
	if c.ClientCert, c.ClientKey, err = issue(3, "rightsize test client", x509.ExtKeyUsageClientAuth, nil, nil); err != nil {
		return nil, err
	}
	serverPair, err := tls.X509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		return nil, err
	}
	clientPair, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	c.Server = &tls.Config{
		Certificates: []tls.Certificate{serverPair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	c.Client = &tls.Config{
		Certificates: []tls.Certificate{clientPair},
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS12,
	}
	return c, nil
}

// Files is where WriteFiles put the PEM files.
type Files struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// WriteFiles writes the PEM files into dir (ca.pem, server.pem,
// server-key.pem, client.pem, client-key.pem; keys readable by the owner
// only), for programs that take file names.
func (c *Certs) WriteFiles(dir string) (Files, error) {
	f := Files{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	for _, w := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{f.CA, c.CA, 0o644}, {f.ServerCert, c.ServerCert, 0o644}, {f.ServerKey, c.ServerKey, 0o600},
		{f.ClientCert, c.ClientCert, 0o644}, {f.ClientKey, c.ClientKey, 0o600},
	} {
		if err := os.WriteFile(w.path, w.data, w.mode); err != nil {
			return Files{}, fmt.Errorf("brokertest: %w", err)
		}
	}
	return f, nil
}

//go:build !windows

package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
)

// TestE2EHeldConnections: a stranger who holds every one of --max-conns
// with idle keep-alive connections (a health check on each) does not keep
// a push out: the connection idle longest is closed to make room.
func TestE2EHeldConnections(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const token = "e2e-conns-Vq8rT3"
	s := startServe(t, nil, "--token", token, "--max-conns", "8")
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a health check on a held connection: %v", err)
		}
		resp.Body.Close()
	}
	if r := s.send(t, "--token", token, "--text", "菜单"); r.code != 0 {
		t.Fatalf("a push while every connection was held:\n%s", r)
	}
	if n := s.metric(t, `wxreply_connections_evicted_total{listener="callback"}`); n < 1 {
		t.Errorf("wxreply_connections_evicted_total = %v, want at least 1", n)
	}
}

package testutil

import (
	"net"
	"testing"
)

// Listen listens on path with package net (network "unix", "unixpacket"
// or "unixgram" through net.Listen's rules) and closes the listener when
// the test ends.
func Listen(t testing.TB, network, path string) net.Listener {
	t.Helper()
	l, err := net.Listen(network, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

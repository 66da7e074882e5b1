//go:build !linux && !darwin

package testserver

import (
	"fmt"
	"runtime"
)

// Server is not available on this system.
type Server struct{}

// Start fails: the test server knows only Linux and macOS.
func Start(Config) (*Server, error) {
	return nil, fmt.Errorf("testserver: not supported on %s", runtime.GOOS)
}

func (s *Server) Manifest() Manifest { return Manifest{} }
func (s *Server) Close() error       { return nil }

//go:build linux

// Command dumpload serves scripts/dump-overhead.sh: a Unix stream transfer
// to time with and without `udsls --dump` watching.
//
//	dumpload listen PATH             accept connections on PATH for ever;
//	                                 read each to its end, then answer
//	                                 one byte
//	dumpload send PATH CHUNK TOTAL   connect, write TOTAL bytes in writes of
//	                                 CHUNK bytes, half-close, wait for the
//	                                 answer; print MB/s and writes/s
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dumpload:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 2 && args[0] == "listen":
		l, err := net.Listen("unix", args[1])
		if err != nil {
			return err
		}
		for {
			c, err := l.Accept()
			if err != nil {
				return err
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
				c.Write([]byte{1})
			}()
		}
	case len(args) == 4 && args[0] == "send":
		chunk, err1 := strconv.Atoi(args[2])
		total, err2 := strconv.Atoi(args[3])
		if err1 != nil || err2 != nil || chunk <= 0 || total < chunk {
			return fmt.Errorf("send PATH CHUNK TOTAL: bad numbers %q %q", args[2], args[3])
		}
		c, err := net.Dial("unix", args[1])
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, chunk)
		n := total / chunk
		start := time.Now()
		for range n {
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
		if err := c.(*net.UnixConn).CloseWrite(); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			return err
		}
		s := time.Since(start).Seconds()
		fmt.Printf("%.1f %.0f\n", float64(n*chunk)/s/1e6, float64(n)/s)
		return nil
	}
	return fmt.Errorf("usage: dumpload listen PATH | dumpload send PATH CHUNK TOTAL")
}

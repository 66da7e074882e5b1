package capture

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/udsls/udsls/inspect"
)

// Generated listings of 100k lines: a busy Mac has a few thousand sockets.

func BenchmarkParseNetstat(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(netstatTitle + "Address          Type   Recv-Q Send-Q            Inode             Conn             Refs          Nextref Addr\n")
	for i := range 100_000 {
		r := NetstatRow{Address: 0x7fb03cb900000000 + uint64(i), Type: inspect.TypeStream, Conn: 0x7fb03cb900000000 + uint64(i^1)}
		fmt.Fprintf(&buf, "%s /var/run/socket %d\n", baseRow(r), i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rows, err := ParseNetstat(bytes.NewReader(data))
		if err != nil || len(rows) != 100_000 {
			b.Fatal(len(rows), err)
		}
	}
}

func BenchmarkParseLsofFields(b *testing.B) {
	var buf bytes.Buffer
	for p := range 1200 {
		fmt.Fprintf(&buf, "p%d\ncproc %d\nu501\nLkim\n", p+1, p)
		for fd := range 20 {
			fmt.Fprintf(&buf, "f%d\ntunix\nd0x7fb03cb9%08x\nn/var/run/socket %d\n", fd, p*20+fd, fd)
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		l, err := ParseLsof(bytes.NewReader(data))
		if err != nil || len(l.Files) != 24_000 {
			b.Fatal(err)
		}
	}
}

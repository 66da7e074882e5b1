package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

// TestConnectJSON: a name and a command that are not UTF-8 keep their
// bytes in *_bytes, a uid without a name has user null, a failed connect
// server null; every field decodes into the documented struct.
func TestConnectJSON(t *testing.T) {
	at := time.Date(2026, 12, 1, 3, 1, 9, 250185000, time.UTC)
	for _, tt := range []struct {
		name string
		c    Connect
		want ConnectJSON
		line string
	}{
		{
			name: "ok",
			c:    Connect{Time: at, PID: 7, Command: "curl", UID: 1000, User: "alice", Name: "/run/a.sock", Type: inspect.TypeStream, Result: "ok", Server: &Server{PID: 1, Command: "nginx"}},
			want: ConnectJSON{Time: at, PID: 7, Command: "curl", UID: 1000, User: ptr("alice"), Path: "/run/a.sock", Type: inspect.TypeStream, Result: "ok", Server: &ServerJSON{PID: 1, Command: "nginx"}},
			line: `{"time":"2026-12-01T03:01:09.250185Z","pid":7,"command":"curl","uid":1000,"user":"alice","path":"/run/a.sock","abstract":false,"type":"stream","result":"ok","server":{"pid":1,"command":"nginx"}}` + "\n",
		},
		{
			name: "hostile",
			c:    Connect{Time: at, PID: 8, Command: "x\xff", UID: 4242, Name: "@a\x00\xc2\x9b\xfe", Abstract: true, Type: inspect.TypeDgram, Result: "ECONNREFUSED"},
			want: ConnectJSON{Time: at, PID: 8, Command: "x\ufffd", CommandBytes: []byte("x\xff"), UID: 4242, Path: "@a\x00\u009b\ufffd", PathBytes: []byte("@a\x00\xc2\x9b\xfe"), Abstract: true, Type: inspect.TypeDgram, Result: "ECONNREFUSED"},
			line: `{"time":"2026-12-01T03:01:09.250185Z","pid":8,"command":"x\ufffd","command_bytes":"eP8=","uid":4242,"user":null,"path":"@a\u0000\u009b\ufffd","path_bytes":"QGEAwpv+","abstract":true,"type":"dgram","result":"ECONNREFUSED","server":null}` + "\n",
		},
		{
			// The account database is not UTF-8 by rule: the name kept
			// its bytes in a listing's user_bytes, and lost them here.
			name: "user not UTF-8",
			c:    Connect{Time: at, PID: 9, Command: "nc", UID: 1001, User: "j\xf6rg", Name: "/run/a.sock", Type: inspect.TypeStream, Result: "EACCES"},
			want: ConnectJSON{Time: at, PID: 9, Command: "nc", UID: 1001, User: ptr("j\ufffdrg"), UserBytes: []byte("j\xf6rg"), Path: "/run/a.sock", Type: inspect.TypeStream, Result: "EACCES"},
			line: `{"time":"2026-12-01T03:01:09.250185Z","pid":9,"command":"nc","uid":1001,"user":"j\ufffdrg","user_bytes":"avZyZw==","path":"/run/a.sock","abstract":false,"type":"stream","result":"EACCES","server":null}` + "\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteConnectJSON(&b, &tt.c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.line, b.String()); diff != "" {
				t.Errorf("line (-want +got):\n%s", diff)
			}
			var got ConnectJSON
			if err := json.Unmarshal(b.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteConnect: one line, the names escaped, a file named "@x" told
// from the abstract name.
func TestWriteConnect(t *testing.T) {
	var b bytes.Buffer
	c := Connect{Time: time.Now(), PID: 9, Command: "a\x1b[2J", UID: 5, Name: "@x\n", Type: inspect.TypeStream, Result: "EACCES", Server: &Server{PID: 3, Command: "s\r"}}
	if err := WriteConnect(&b, &c); err != nil {
		t.Fatal(err)
	}
	line := b.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, ` a\x1b[2J `) || !strings.Contains(line, ` 5 `) ||
		!strings.HasSuffix(line, ` EACCES       \x40x\n -> 3 s\r`+"\n") {
		t.Errorf("got %q", line)
	}
}

func ptr[T any](v T) *T { return &v }

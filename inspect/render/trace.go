package render

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/udsls/udsls/inspect"
)

// ConnectJSON is one line of `udsls --trace -o json`: a connect(2) to a
// Unix socket and its result. Like SocketJSON it is a public contract:
// fields are added, never renamed.
type ConnectJSON struct {
	Time    time.Time `json:"time"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	// CommandBytes is the exact command when not valid UTF-8.
	CommandBytes []byte  `json:"command_bytes,omitempty"`
	UID          uint32  `json:"uid"`
	User         *string `json:"user"` // null when the uid has no name
	// UserBytes is the exact user name when not valid UTF-8.
	UserBytes []byte `json:"user_bytes,omitempty"`
	// Path is the name asked for, "@" and the name when Abstract; PathBytes
	// its exact bytes when not valid UTF-8.
	Path      string       `json:"path"`
	PathBytes []byte       `json:"path_bytes,omitempty"`
	Abstract  bool         `json:"abstract"`
	Type      inspect.Type `json:"type"`
	// Result is "ok" or the errno's name, as ECONNREFUSED.
	Result string      `json:"result"`
	Server *ServerJSON `json:"server"`
}

// ServerJSON is the process on the other end of a connect that succeeded.
type ServerJSON struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	// CommandBytes is the exact command when not valid UTF-8.
	CommandBytes []byte `json:"command_bytes,omitempty"`
}

// Connect is a connect(2) as --trace prints it.
type Connect struct {
	Time     time.Time
	PID      int
	Command  string
	UID      uint32
	User     string // "" when the uid has no name
	Name     string // "@" and the name when Abstract
	Abstract bool
	Type     inspect.Type
	Result   string
	Server   *Server
}

// Server is the process on the other end of a connect.
type Server struct {
	PID     int
	Command string
}

// ConnectHeader is the head line of --trace's terminal output.
func ConnectHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%-15s %7s %-15s %-10s %-9s %-12s %s\n", "TIME", "PID", "COMMAND", "USER", "TYPE", "RESULT", "NAME -> SERVER")
	return err
}

// WriteConnect writes c as one line, every untrusted name escaped.
func WriteConnect(w io.Writer, c *Connect) error {
	user := strconv.FormatUint(uint64(c.UID), 10)
	if c.User != "" {
		user = Escape(c.User)
	}
	line := fmt.Sprintf("%-15s %7d %-15s %-10s %-9s %-12s %s", c.Time.Local().Format("15:04:05.000000"), c.PID,
		Escape(c.Command), user, c.Type, c.Result, EscapeName(c.Name, c.Abstract))
	if c.Server != nil {
		line += " -> " + strconv.Itoa(c.Server.PID) + " " + Escape(c.Server.Command)
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}

// WriteConnectJSON writes c as one JSON line.
func WriteConnectJSON(w io.Writer, c *Connect) error {
	j := ConnectJSON{
		Time: c.Time.UTC(), PID: c.PID, Command: c.Command, CommandBytes: exactBytes(c.Command),
		UID: c.UID, Path: c.Name, PathBytes: exactBytes(c.Name), Abstract: c.Abstract,
		Type: c.Type, Result: c.Result,
	}
	if c.User != "" {
		j.User, j.UserBytes = &c.User, exactBytes(c.User)
	}
	if s := c.Server; s != nil {
		j.Server = &ServerJSON{PID: s.PID, Command: s.Command, CommandBytes: exactBytes(s.Command)}
	}
	return EncodeJSON(w, &j, false, true)
}

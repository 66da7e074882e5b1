package sys

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/udsls/udsls/inspect"
)

// Process reads a process's command and effective uid from one read
// of /proc/PID/status. It gives what gopsutil's Name and Uids gave, which
// read comm and then status twice: a listing spent most of its per-process
// time there.
func Process(ctx context.Context, procRoot string, pid int) (inspect.Process, error) {
	if err := ctx.Err(); err != nil {
		return inspect.Process{}, err
	}
	dir := filepath.Join(cmp.Or(procRoot, "/proc"), strconv.Itoa(pid))
	data, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return inspect.Process{}, err
	}
	var name string
	var uids []uint32
	haveName := false
	for line := range strings.SplitSeq(string(data), "\n") {
		key, value, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		switch strings.TrimRight(key, ":") {
		case "Name":
			name, haveName = value, true
		case "Uid":
			for f := range strings.SplitSeq(value, "\t") {
				v, err := strconv.ParseUint(f, 10, 32)
				if err != nil {
					return inspect.Process{}, err
				}
				uids = append(uids, uint32(v))
			}
		}
	}
	if !haveName || len(uids) == 0 {
		return inspect.Process{}, errors.New("no uid for pid " + strconv.Itoa(pid))
	}
	// Uids lists real, effective, saved; access checks use the effective one.
	uid := uids[0]
	if len(uids) > 1 {
		uid = uids[1]
	}
	command, err := commandName(dir, name)
	if err != nil {
		return inspect.Process{}, err
	}
	return inspect.Process{PID: pid, Command: command, UID: uid}, nil
}

// commandName is the command as comm gives it, unescaped from status's
// Name (the kernel escapes only newline and backslash there). Names of 15
// bytes or more may have been cut to fit comm: they stay as status shows
// them, made whole from the base name of argv[0] when that extends them.
func commandName(dir, escaped string) (string, error) {
	if comm := unescapeTaskName(escaped); comm != "" && len(comm) < 15 {
		return comm, nil
	}
	name := strings.Trim(escaped, " \t")
	if len(name) < 15 {
		return name, nil
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return "", err
	}
	if len(cmdline) == 0 {
		return name, nil
	}
	argv0, _, _ := strings.Cut(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
	if ext := filepath.Base(argv0); strings.HasPrefix(ext, name) {
		return ext, nil
	}
	return name, nil
}

// unescapeTaskName undoes proc_task_name's escaping of "\n" and "\\".
func unescapeTaskName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

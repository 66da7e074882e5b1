package main

import (
	"cmp"
	"strings"
)

const usageHead = `udsls: show everything about the Unix domain sockets on this machine

Usage:
  udsls [options] [PATTERN...]              list listening and bound sockets
  udsls --stale [options] [DIR...]          find orphaned socket files
  udsls --check [options] PATH...           health-check sockets (CI, probes)
  udsls --audit [options] [PATTERN|DIR...]  who can reach or hijack sockets
  udsls --serve [options] [DIR]             open live test sockets of every kind
  udsls --watch [options] [PATTERN...]      live view: backlogs, queues, traffic
  udsls --trace [options] [PATTERN...]      who connects to sockets, live (BPF)
  udsls --dump TARGET [options]             the bytes sent over a socket (root)

PATTERN is a shell glob matched against the socket path ('/run/*'); a
pattern without a slash also matches the file name ('*.sock'); the name of
an existing file matches that file literally. Abstract names start with '@'.
TARGET is a socket's path, its '@abstract' name or its inode number.
`

const usageTail = `
Exit status: 0 found / healthy / nothing stale; 1 a filter matched nothing,
a check failed, stale files or findings remain; 2 usage or operational error;
130/143 interrupted by SIGINT/SIGTERM, 129 by SIGHUP; 141 output cut (SIGPIPE).

Examples:
  udsls                             what is listening, who owns it
  udsls -a -o json                  every socket, for scripts
  udsls --peers /run/docker.sock    who is connected to the Docker daemon
  udsls -p 1234                     the sockets of one process
  udsls --check /run/app.sock --wait 10s && run-tests
  udsls --stale /tmp --remove       clean up orphaned socket files
  udsls --dump /run/app.sock -w app.pcap --for 10s
`

// helpColumn is where the description of a flag starts in --help.
const helpColumn = 25

// usage is the --help text; its option sections are made from flagTable.
var usage = usageText()

func usageText() string {
	var b strings.Builder
	b.WriteString(usageHead)
	for _, sec := range sections {
		b.WriteString("\n")
		if sec.title != "" {
			b.WriteString(sec.title + ":\n")
		}
		for _, f := range flagTable {
			if f.sec == sec {
				writeFlagHelp(&b, &f, cmp.Or(sec.column, helpColumn))
			}
		}
	}
	b.WriteString(usageTail)
	return b.String()
}

func writeFlagHelp(b *strings.Builder, f *flagSpec, column int) {
	left := "      --" + f.name
	if f.short != "" {
		left = "  -" + f.short + ", --" + f.name
	}
	if f.arg != "" {
		left += " " + f.arg
	}
	// A long flag and placeholder push the description one space past it.
	pad := max(column-len(left), 1)
	lines := strings.Split(f.help, "\n")
	b.WriteString(left + strings.Repeat(" ", pad) + lines[0] + "\n")
	for _, l := range lines[1:] {
		b.WriteString(strings.Repeat(" ", column) + l + "\n")
	}
}

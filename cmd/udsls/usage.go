package main

const usage = `udsls: show everything about the Unix domain sockets on this machine

Usage:
  udsls [options] [PATTERN...]          list sockets (listeners and bound sockets)
  udsls --stale [options] [DIR...]      find socket files nothing is bound to
  udsls --check [options] PATH...       health-check sockets, for CI and probes
  udsls --audit [options] [PATTERN...]  find sockets others can reach or hijack
  udsls --serve [options] [DIR]         open live test sockets of every kind

PATTERN is a shell glob matched against the socket path ('/run/*'); a
pattern without a slash also matches the file name ('*.sock'). Abstract
names start with '@'.

Listing:
  -a, --all              every socket: also connections, clients, socketpairs
  -l, --listening        listeners only
  -p, --pid PID          held by this process (repeatable, or comma-separated)
  -u, --user USER        held by a process of this user (name or uid)
  -t, --type TYPE        stream, dgram or seqpacket
      --peers            show who is on the other end (a listener's clients)
  -e, --extended         add INODE and PEER-INODE, to pair the ends of connections
  -W, --wide             never narrow the table to the terminal's width

Output:
  -o, --output FORMAT    table (default), json, or prometheus
      --output-file PATH with -o prometheus: write atomically (textfile collector)
      --color WHEN       auto (default), always, never; NO_COLOR is honoured
  -q, --quiet            no warnings or notes on stderr; --check prints nothing

Sources:
      --source NAME      Linux: netlink (default, with fallback) or procfs
      --fd-source NAME   Linux: how holders are found: auto (default), bpf
                         (an iterator, needs CAP_BPF+CAP_PERFMON) or procfs
  -v, --verbose          say on stderr which sources were used
      --from KIND:FILE   analyse a saved capture: lsof:FILE, netstat:FILE, or
                         procnet:FILE (a copy of /proc/net/unix); repeatable
  -N, --all-netns        every network namespace (containers)
      --netns PID|PATH   one network namespace
      --proc-root DIR    procfs to read (default /proc; /host/proc in a container)

Stale files (--stale):
      --remove           delete the stale files found (re-checked right before)
      --dry-run          with --remove: say what would be removed
      --cross-fs         descend into other filesystems
      --max-depth N      how deep to walk (default 16)

Health checks (--check):
      --timeout DUR      bound each connect (default 1s)
      --wait DUR         retry until healthy or DUR has passed
      --expect-mode MODE       e.g. 0660
      --expect-owner USER      name or uid
      --expect-group GROUP     name or gid
      --expect-type TYPE       stream, dgram or seqpacket

Audit (--audit):
      --fail-on SEVERITY exit 1 for findings at or above: low, medium, high (default)

Test server (--serve):
      --for DUR          stop after DUR (default: until interrupted)
      --count N          open N more listener+connection sets

  -h, --help             show this help
      --version          print the version

Exit status: 0 found / healthy / nothing stale; 1 a filter matched nothing,
a check failed, stale files or findings remain; 2 usage or operational error.

Examples:
  udsls                             what is listening, who owns it
  udsls -a -o json                  every socket, for scripts
  udsls --peers /run/docker.sock    who is connected to the Docker daemon
  udsls -p 1234                     the sockets of one process
  udsls --check /run/app.sock --wait 10s && run-tests
  udsls --stale /tmp --remove       clean up orphaned socket files
`

// Package testutil holds the helpers tests in several packages share:
// sockets left behind as a crashed server leaves them, listeners with a
// chosen backlog, listeners in child processes. Only tests import it.
package testutil

//go:build unix

package liveview

import (
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	tea "charm.land/bubbletea/v2"
)

// stopLikeCtrlZ makes a SIGTSTP from outside (kill -TSTP; Ctrl-Z itself
// is a key on the raw terminal) stop the view as Ctrl-Z does, the terminal
// given back first: stopped as it was, the shell would find it raw and in
// the alternate screen, and after fg the view would get its keys a line
// at a time. Bubble Tea stops the process with a SIGTSTP of its own, which
// the handler, once installed, catches too (Go cannot give SIGTSTP back
// to the kernel's default): that one is turned into a SIGSTOP. suspending
// says that the view is about to stop (Ctrl-Z); stop ends the handler.
func stopLikeCtrlZ(p *tea.Program) (suspending, stop func()) {
	if signal.Ignored(syscall.SIGTSTP) {
		return func() {}, func() {}
	}
	var under atomic.Bool // a suspend is under way: its SIGTSTP is Bubble Tea's
	c := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(c, syscall.SIGTSTP)
	go func() {
		for {
			select {
			case <-c:
				if under.CompareAndSwap(false, true) {
					p.Send(tea.SuspendMsg{})
					continue
				}
				// The terminal is given back: stop until fg's SIGCONT,
				// which Bubble Tea waits for to take it again.
				syscall.Kill(0, syscall.SIGSTOP)
				under.Store(false)
			case <-done:
				return
			}
		}
	}()
	return func() { under.Store(true) }, func() {
		signal.Stop(c)
		close(done)
	}
}

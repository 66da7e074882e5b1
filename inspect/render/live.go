package render

import "github.com/udsls/udsls/inspect"

// The cells of the listing's table, for udsls --watch's full-screen view,
// which shows the same sockets with the same escaping.

// PathCell is the PATH cell: the escaped name, or "(unnamed)".
func PathCell(e *inspect.Entry) string { return displayPath(e) }

// HolderCells are the PID/COMMAND, USER and FD cells.
func HolderCells(hs []inspect.Holder) (pids, users, fds string) { return holderCells(hs) }

// QueueCells are the RECV-Q, SEND-Q and BACKLOG cells.
func QueueCells(e *inspect.Entry) (recvq, sendq, backlog string) { return queueCells(e) }

// Shorten cuts the middle out of a cell to fit w display columns, as the
// table narrows a column.
func Shorten(c string, w int) string {
	if CellWidth(c) <= w {
		return c
	}
	return shorten(c, w)
}

// CellWidth is a cell's width on a terminal.
func CellWidth(c string) int { return cellWidth(c) }

package liveview

import (
	"fmt"
	"testing"

	"github.com/udsls/udsls/inspect"
)

// BenchmarkViewRefresh is the view's part of a refresh of 10k sockets:
// taking the frame (cells, order) and drawing the screen.
func BenchmarkViewRefresh(b *testing.B) {
	es := make([]inspect.Entry, 10000)
	for i := range es {
		es[i] = listener(inspect.SocketID(i+1), fmt.Sprintf("/run/app/set-%d.sock", i), uint32(i%5), 128, i%9)
		es[i].Traffic = &inspect.Traffic{SentBytes: uint64(i)}
	}
	h := newHarness(b, true, func(bool) []inspect.Entry { return es })
	b.ReportAllocs()
	for b.Loop() {
		f, _ := h.src.refresh(h.m.ctx, false)
		h.m.Update(frameMsg{gen: h.m.gen, frame: f})
		_ = h.m.View()
	}
}

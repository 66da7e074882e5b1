package inspect

// Traffic is the data a socket moved while it was counted.
type Traffic struct {
	// SentBytes is what the socket sent, ReceivedBytes what it was sent
	// (what its peer sent to it).
	SentBytes, ReceivedBytes uint64
}

// AddTraffic sets the Traffic of every entry from counts, by socket inode.
// A socket the counts do not name moved nothing since counting began. A
// listener moves no data itself: its traffic is the sum over its accepted
// connections, found in snap as the listing counts them.
func AddTraffic(snap *Snapshot, entries []Entry, counts map[uint64]Traffic) {
	sums := map[identity]*Traffic{}
	for i := range entries {
		if e := &entries[i]; e.Listening() && e.Named() {
			sums[identityOf(&e.Socket)] = &Traffic{}
		}
	}
	if len(sums) > 0 {
		for i := range snap.Sockets {
			s := &snap.Sockets[i]
			if !s.Named() || s.ID == 0 || s.Type == TypeDgram || s.State == StateListening {
				continue
			}
			t, ok := counts[uint64(s.ID)]
			if !ok {
				continue
			}
			if sum := sums[identityOf(s)]; sum != nil {
				sum.SentBytes += t.SentBytes
				sum.ReceivedBytes += t.ReceivedBytes
			}
		}
	}
	// One allocation for every entry's count.
	all := make([]Traffic, len(entries))
	for i := range entries {
		e := &entries[i]
		if sum := sums[identityOf(&e.Socket)]; e.Listening() && e.Named() && sum != nil {
			all[i] = *sum
		} else if !e.Listening() {
			all[i] = counts[uint64(e.ID)]
		}
		e.Traffic = &all[i]
	}
}

package inspect

// Traffic is what one socket moved since counting began: the bytes its
// owners sent through it and the bytes they read from it.
type Traffic struct {
	SentBytes, ReceivedBytes uint64
}

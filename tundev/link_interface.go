package tundev

// batchLink is the method set of stack.Link, which both devices provide.
// It is repeated here, unexported, only to check that at compile time:
// tundev does not import the stack.
type batchLink interface {
	Read(bufs [][]byte, sizes []int, offset int) (n int, err error)
	Write(bufs [][]byte, offset int) (int, error)
	BatchSize() int
	MTU() (int, error)
	Close() error
}

var (
	_ batchLink = (*Device)(nil)
	_ batchLink = (*Memory)(nil)
	_ batchLink = (*PeerLink)(nil)
)

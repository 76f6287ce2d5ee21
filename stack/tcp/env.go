package tcp

// Env is what the connections of one owner share besides their Config:
// where their segments go, who hears their decisions, the budget their
// buffers draw on, and the scratch space they work in. An owner makes one
// per event loop (a stack, one per shard, all sharing one Config); the
// connections of one Env must not be called concurrently, since they
// work in its scratch space. The engine writes nothing else that
// connections share but the Budget, which is safe for concurrent use.
type Env struct {
	out     Output
	obs     Observer
	answers AnswerBudget // out, if it is one
	mem     *Budget
	work    workspace
}

// workspace holds the segments a connection works on while one of its
// methods runs: the connections of an Env share one instead of carrying
// 200 bytes each. The segments are passed to Output and Observer, so
// locals would escape to the heap on every segment.
type workspace struct {
	out Segment // the segment being sent
	in  Segment // the segment being processed, trimmed to the window
}

// NewEnv returns an Env whose connections send through out (not nil),
// report their decisions to obs (nil: to no one, at no cost) and draw
// their buffers from mem (nil: no bound). If out is also an AnswerBudget
// it rations the answers to segments that cannot be trusted.
func NewEnv(out Output, obs Observer, mem *Budget) *Env {
	e := &Env{out: out, obs: obs, mem: mem}
	e.answers, _ = out.(AnswerBudget)
	return e
}

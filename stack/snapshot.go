package stack

import (
	"cmp"
	"slices"

	"github.com/tunstack/tunstack/stack/tcp"
)

// snapshot describes every listener and connection, sorted by local then
// remote address. Runs on the loop.
func (s *Stack) snapshot() []ConnInfo {
	infos := make([]ConnInfo, 0, len(s.conns)+len(s.listeners))
	s.listenMu.Lock()
	for key, ln := range s.listeners {
		infos = append(infos, ConnInfo{
			// As Linux's ss shows a listener: Recv-Q is its accept
			// queue, Send-Q the queue's bound.
			Status: tcp.Status{ID: tcp.ID{Local: key}, State: tcp.Listen, RecvQueue: ln.acceptQueueLen(), SendQueue: ln.backlog},
			States: []tcp.State{tcp.Listen},
			At:     s.now,
		})
	}
	s.listenMu.Unlock()
	for _, c := range s.conns {
		infos = append(infos, c.info(s))
	}
	s.timeWait.each(func(id tcp.ID, e *timeWaitEntry) {
		infos = append(infos, e.info(id, s.now))
	})
	slices.SortFunc(infos, func(a, b ConnInfo) int {
		return cmp.Or(a.Status.ID.Local.Compare(b.Status.ID.Local), a.Status.ID.Remote.Compare(b.Status.ID.Remote))
	})
	return infos
}

// info is c's entry in a snapshot. Runs on the loop.
func (c *Conn) info(s *Stack) ConnInfo {
	info := ConnInfo{
		Status: c.engine.Status(),
		States: slices.Clone(c.loopStates),
		Since:  c.stateSince,
		At:     s.now,
	}
	c.mu.Lock()
	info.Unsent, info.Unread = c.send.Len(), c.recv.Len()
	info.AppClosed = c.closed || c.writeClosed
	c.mu.Unlock()
	return info
}

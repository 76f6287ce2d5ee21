package flags

import (
	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
)

// maxListenQueue bounds --backlog and --syn-backlog: a million waiting
// connections is more than any listener here should hold.
const maxListenQueue = 1 << 20

// listenFlags are the bounds of every listener's two queues and when it
// answers with SYN cookies (stack.Options, stack/listen_queue.go).
type listenFlags struct {
	backlog    int
	synBacklog int
	synCookies string
}

func (f *listenFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.backlog, "backlog", stack.DefaultBacklog, "connections each listener holds established and waiting for accept (Linux's somaxconn)")
	fs.IntVar(&f.synBacklog, "syn-backlog", stack.DefaultSynBacklog, "half-open connections (SYN-RECEIVED) each listener holds before --syncookies applies (Linux's tcp_max_syn_backlog)")
	fs.StringVar(&f.synCookies, "syncookies", stack.SynCookiesAuto.String(), "answer SYNs with SYN cookies (RFC 4987): auto once the half-open queue is full, always, or never (drop such SYNs)")
}

func (f *listenFlags) config() (daemon.ListenConfig, error) {
	switch {
	case f.backlog < 1 || f.backlog > maxListenQueue:
		return daemon.ListenConfig{}, usage.Errorf("--backlog %d: want 1 to %d", f.backlog, maxListenQueue)
	case f.synBacklog < 1 || f.synBacklog > maxListenQueue:
		return daemon.ListenConfig{}, usage.Errorf("--syn-backlog %d: want 1 to %d", f.synBacklog, maxListenQueue)
	}
	mode, err := stack.ParseSynCookieMode(f.synCookies)
	if err != nil {
		return daemon.ListenConfig{}, usage.Errorf("--syncookies %q: want auto, always or never", f.synCookies)
	}
	return daemon.ListenConfig{Backlog: f.backlog, SynBacklog: f.synBacklog, SynCookies: mode}, nil
}

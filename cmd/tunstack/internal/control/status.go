package control

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tunstack/tunstack/stack"
)

// ConnStatus is one connection in a status reply, and what `tunstack ss
// --json` prints for it: tcp.Status and the stack's view of the
// connection, in names a reader of ss expects. Durations are Go duration
// strings ("1.5ms"); a timer's time left and the age are taken on the
// daemon's clock when it made the snapshot.
type ConnStatus struct {
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// Upstream is the server a relay (--forward, --gateway) copies the
	// connection to, as the kernel's socket names it; "" for others.
	Upstream string   `json:"upstream,omitempty"`
	State    string   `json:"state"`
	States   []string `json:"states"`
	// Age is how long the connection has been in its state; Since is
	// when it entered it. Both are absent for listeners.
	Age   string     `json:"age,omitempty"`
	Since *time.Time `json:"since,omitempty"`
	// RecvQ and SendQ are ss's Recv-Q and Send-Q: received and not read
	// by the application, written and not acknowledged by the peer,
	// wherever the bytes wait (the engine's buffers or the queues
	// between it and the application). For a listener, as in Linux's ss:
	// the connections waiting for accept, and the accept queue's bound.
	RecvQ int `json:"recv_q"`
	SendQ int `json:"send_q"`
	// The TCB (RFC 9293 §3.3.1).
	ISS       uint32 `json:"iss"`
	IRS       uint32 `json:"irs"`
	SndUna    uint32 `json:"snd_una"`
	SndNxt    uint32 `json:"snd_nxt"`
	SndWnd    uint32 `json:"snd_wnd"`
	RcvNxt    uint32 `json:"rcv_nxt"`
	RcvWnd    uint32 `json:"rcv_wnd"`
	SendQueue int    `json:"send_queue"` // in the engine, not yet acknowledged
	RecvQueue int    `json:"recv_queue"` // in the engine, not yet read
	Unsent    int    `json:"unsent"`     // written, not yet taken by the engine
	Unread    int    `json:"unread"`     // taken from the engine, not yet read
	AppClosed bool   `json:"app_closed"` // the application closed (or half-closed) it
	// Path and congestion.
	MSS         uint16 `json:"mss"`
	SRTT        string `json:"srtt"`
	RTTVar      string `json:"rttvar"`
	RTO         string `json:"rto"`
	MinRTT      string `json:"min_rtt"`
	Backoff     int    `json:"backoff"`
	Congestion  string `json:"cc,omitempty"`
	Cwnd        uint32 `json:"cwnd"`
	Ssthresh    uint32 `json:"ssthresh"`
	InRecovery  bool   `json:"in_recovery"`
	InFlight    uint32 `json:"in_flight"`
	SackedBytes uint32 `json:"sacked_bytes"`
	LostBytes   uint32 `json:"lost_bytes"`
	SACKHoles   int    `json:"sack_holes"`
	// SndWScale and RcvWScale are the window scale shifts, -1 when
	// window scaling is off.
	SndWScale  int  `json:"snd_wscale"`
	RcvWScale  int  `json:"rcv_wscale"`
	SACK       bool `json:"sack"`
	Timestamps bool `json:"timestamps"`
	// Timers are those running, soonest first.
	Timers      []TimerStatus `json:"timers"`
	Retransmits int           `json:"retransmits"`
	SegsIn      int           `json:"segs_in"`
	SegsOut     int           `json:"segs_out"`
	PeerClosed  bool          `json:"peer_closed"`
	Orphaned    bool          `json:"orphaned"`
	// WaitingFor says, for `tunstack ss --stuck`, what the connection
	// waits for.
	WaitingFor string `json:"waiting_for,omitempty"`
}

// TimerStatus is a running timer and the time left on it.
type TimerStatus struct {
	Name string `json:"name"` // retransmit, persist, keepalive, time-wait, ...
	Left string `json:"left"`
	// Backoff counts the consecutive time-outs of the retransmission or
	// persist timer.
	Backoff int `json:"backoff,omitempty"`
}

// deadline is a timer of tcp.Status: zero at when it does not run.
type deadline struct {
	name    string
	at      time.Time
	backoff int
}

// Timer names.
const (
	TimerRetransmit  = "retransmit"
	TimerPersist     = "persist"
	TimerKeepAlive   = "keepalive"
	TimerTimeWait    = "time-wait"
	TimerFinWait2    = "fin-wait-2"
	TimerDelayedACK  = "delayed-ack"
	TimerTLP         = "tlp"
	TimerRACK        = "rack"
	TimerUserTimeout = "user-timeout"
)

// NewConnStatus is a connection of the stack as a status reply lists it.
func NewConnStatus(info stack.ConnInfo) ConnStatus {
	s := info.Status
	states := make([]string, len(info.States))
	for i, st := range info.States {
		states[i] = st.String()
	}
	c := ConnStatus{
		Local:       endpoint(s.ID.Local),
		Remote:      endpoint(s.ID.Remote),
		State:       s.State.String(),
		States:      states,
		RecvQ:       s.RecvQueue + info.Unread,
		SendQ:       s.SendQueue + info.Unsent,
		ISS:         uint32(s.ISS),
		IRS:         uint32(s.IRS),
		SndUna:      uint32(s.SndUna),
		SndNxt:      uint32(s.SndNxt),
		SndWnd:      s.SndWnd,
		RcvNxt:      uint32(s.RcvNxt),
		RcvWnd:      s.RcvWnd,
		SendQueue:   s.SendQueue,
		RecvQueue:   s.RecvQueue,
		Unsent:      info.Unsent,
		Unread:      info.Unread,
		AppClosed:   info.AppClosed,
		MSS:         s.MSS,
		SRTT:        s.SRTT.String(),
		RTTVar:      s.RTTVar.String(),
		RTO:         s.RTO.String(),
		MinRTT:      s.MinRTT.String(),
		Backoff:     s.Backoff,
		Congestion:  s.Congestion.String(),
		Cwnd:        s.Cwnd,
		Ssthresh:    s.Ssthresh,
		InRecovery:  s.InRecovery,
		InFlight:    s.InFlight,
		SackedBytes: s.SackedBytes,
		LostBytes:   s.LostBytes,
		SACKHoles:   s.SACKHoles,
		SndWScale:   s.SendWindowScale,
		RcvWScale:   s.RecvWindowScale,
		SACK:        s.SACK,
		Timestamps:  s.Timestamps,
		Retransmits: s.Retransmits,
		SegsIn:      s.SegsIn,
		SegsOut:     s.SegsOut,
		PeerClosed:  s.PeerClosed,
		Orphaned:    s.Orphaned,
		Timers:      []TimerStatus{},
	}
	if !info.Since.IsZero() {
		since := info.Since
		c.Since = &since
		c.Age = info.At.Sub(info.Since).String()
	}
	timers := []deadline{
		{TimerRetransmit, s.RetransmitAt, s.Backoff},
		{TimerPersist, s.PersistAt, s.Backoff},
		{TimerKeepAlive, s.KeepAliveAt, 0},
		{TimerTimeWait, s.TimeWaitAt, 0},
		{TimerFinWait2, s.FinWait2At, 0},
		{TimerDelayedACK, s.DelayedACKAt, 0},
		{TimerTLP, s.TLPAt, 0},
		{TimerRACK, s.RACKAt, 0},
		{TimerUserTimeout, s.UserTimeoutAt, 0},
	}
	slices.SortStableFunc(timers, func(a, b deadline) int { return a.at.Compare(b.at) })
	for _, t := range timers {
		if !t.at.IsZero() {
			c.Timers = append(c.Timers, TimerStatus{Name: t.name, Left: max(t.at.Sub(info.At), 0).String(), Backoff: t.backoff})
		}
	}
	return c
}

// endpoint writes an address and port, or "*" for a listener's missing peer.
func endpoint(a netip.AddrPort) string {
	if !a.IsValid() {
		return "*"
	}
	return a.String()
}

// Timer returns the running timer of that name.
func (c *ConnStatus) Timer(name string) (TimerStatus, bool) {
	for _, t := range c.Timers {
		if t.Name == name {
			return t, true
		}
	}
	return TimerStatus{}, false
}

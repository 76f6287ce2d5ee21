package tcp

// Reason says why the engine did something: changed state, dropped a
// segment, sent a RST or a challenge ACK, fired a timer. It is a fixed code
// so recording it costs nothing; Code, Rule and Text describe it for people.
type Reason uint16

// Reasons, grouped by where in RFC 9293 §3.10 they are decided.
const (
	ReasonNone Reason = iota

	// User calls (§3.10.1–§3.10.6).
	ReasonUserOpenActive
	ReasonUserOpenPassive
	ReasonUserClose
	ReasonUserAbort
	ReasonUserSend
	ReasonCloseUnreadData

	// Segment arrives in CLOSED or LISTEN (§3.10.7.1, §3.10.7.2).
	ReasonClosedRST
	ReasonListenRSTIgnored
	ReasonListenACKReset
	ReasonListenSYN
	ReasonListenNoSYN
	ReasonSynCookieSent
	ReasonSynCookieValid
	ReasonSynCookieRejected

	// SYN-SENT (§3.10.7.3).
	ReasonSynSentBadACK
	ReasonSynSentRSTIgnored
	ReasonSynSentRefused
	ReasonSynSentSynAck
	ReasonSynSentSimultaneous
	ReasonSynSentNoSYN

	// Other states (§3.10.7.4), in the RFC's order of checks.
	ReasonUnacceptable
	ReasonRSTOutsideWindow
	ReasonRSTInWindowChallenge
	ReasonRSTReset
	ReasonRSTSynReceivedToListen
	ReasonSynReceivedRefused
	ReasonRSTClose
	ReasonSYNChallenge
	ReasonSYNInSynReceived
	ReasonNoACK
	ReasonSynReceivedACK
	ReasonSynReceivedBadACK
	ReasonACKOfUnsent
	ReasonACKDuplicate
	ReasonACKOld
	ReasonFinAcked
	ReasonLastAckDone
	ReasonClosingDone
	ReasonTextAfterFIN
	ReasonTrimmedToWindow
	ReasonData
	ReasonFinReceived
	ReasonFinInFinWait1
	ReasonFinInFinWait2
	ReasonFinRetransmitted
	ReasonTimeWaitRST
	ReasonOutOfOrder
	ReasonZeroWindowProbe
	ReasonFinAfterRecvClosed
	ReasonTimeWaitReopen
	ReasonFastRetransmit
	ReasonRecoveryRetransmit

	// Timers (§3.8, §3.10.8).
	ReasonRetransmitSYN
	ReasonRetransmitSYNACK
	ReasonRetransmitData
	ReasonRetransmitFIN
	ReasonGiveUp
	ReasonTimeWaitExpired
	ReasonFinWait2Timeout
	ReasonUserTimeout
	ReasonDelayedACK
	ReasonWindowUpdate
	ReasonKeepAlive
	ReasonKeepAliveTimeout
	ReasonTailLossProbe
	ReasonTailLossProbeNewData
	ReasonPAWS
	ReasonNoTimestamp
	ReasonDuplicateData
	ReasonICMPIgnored
	ReasonICMPHardError
	ReasonPMTU

	// Limits on answers to segments that cannot be trusted (ratelimit.go).
	ReasonInvalidRateLimited
	ReasonChallengeACKLimit
	ReasonRSTRateLimited
	// Memory bounds (the Budget, out-of-order data).
	ReasonOOOLimit
	ReasonRecvBudget
	ReasonKeepAliveProbe
	ReasonRSTAtWindowEdge

	numReasons
)

// NumReasons is how many reasons there are: every Reason is below it, so
// an array of NumReasons counters can be indexed by Reason.
const NumReasons = int(numReasons)

type reasonInfo struct {
	code string // short, stable, machine-readable
	rule string // the RFC section that decides it
	text string // one line for people
}

var reasons = [numReasons]reasonInfo{
	ReasonNone: {"none", "", ""},

	ReasonUserOpenActive:  {"open-active", "rfc9293:3.10.1", "active OPEN: send SYN, enter SYN-SENT"},
	ReasonUserOpenPassive: {"open-passive", "rfc9293:3.10.1", "passive OPEN: enter LISTEN"},
	ReasonUserClose:       {"close", "rfc9293:3.10.4", "CLOSE: queue FIN after pending data"},
	ReasonUserAbort:       {"abort", "rfc9293:3.10.5", "ABORT: send RST, delete TCB"},
	ReasonUserSend:        {"send", "rfc9293:3.10.2", "SEND: segmentize queued data"},
	ReasonCloseUnreadData: {"close-unread-data", "rfc2525:2.17", "CLOSE with unread data: send RST, not FIN"},

	ReasonClosedRST:        {"closed-rst", "rfc9293:3.10.7.1", "segment to CLOSED: answer with RST"},
	ReasonListenRSTIgnored: {"listen-rst-ignored", "rfc9293:3.10.7.2", "RST in LISTEN: ignore"},
	ReasonListenACKReset:   {"listen-ack-reset", "rfc9293:3.10.7.2", "ACK in LISTEN: answer with RST"},
	ReasonListenSYN:        {"listen-syn", "rfc9293:3.10.7.2", "SYN in LISTEN: send SYN-ACK, enter SYN-RECEIVED"},
	ReasonListenNoSYN:      {"listen-no-syn", "rfc9293:3.10.7.2", "no SYN, ACK or RST in LISTEN: drop"},

	ReasonSynCookieSent:     {"syncookie-sent", "rfc4987:3.6", "SYN to a listener that keeps no state for it: send SYN-ACK with a SYN cookie as ISN"},
	ReasonSynCookieValid:    {"syncookie-valid", "rfc4987:3.6", "ACK carries a valid SYN cookie: rebuild the SYN-RECEIVED TCB from it"},
	ReasonSynCookieRejected: {"syncookie-rejected", "rfc4987:3.6", "ACK in LISTEN with no valid SYN cookie (forged, tampered or expired): answer with RST"},

	ReasonSynSentBadACK:       {"synsent-bad-ack", "rfc9293:3.10.7.3", "ACK outside ISS..SND.NXT in SYN-SENT: answer with RST"},
	ReasonSynSentRSTIgnored:   {"synsent-rst-ignored", "rfc9293:3.10.7.3", "RST without acceptable ACK in SYN-SENT: drop"},
	ReasonSynSentRefused:      {"synsent-refused", "rfc9293:3.10.7.3", "RST with acceptable ACK in SYN-SENT: connection refused"},
	ReasonSynSentSynAck:       {"synsent-syn-ack", "rfc9293:3.10.7.3", "SYN-ACK acknowledges our SYN: send ACK, enter ESTABLISHED"},
	ReasonSynSentSimultaneous: {"synsent-simultaneous-open", "rfc9293:3.10.7.3", "SYN without ACK in SYN-SENT: simultaneous open, send SYN-ACK, enter SYN-RECEIVED"},
	ReasonSynSentNoSYN:        {"synsent-no-syn", "rfc9293:3.10.7.3", "neither SYN nor RST in SYN-SENT: drop"},

	ReasonUnacceptable:           {"unacceptable", "rfc9293:3.10.7.4/seq", "segment not acceptable: send ACK, drop"},
	ReasonRSTOutsideWindow:       {"rst-outside-window", "rfc9293:3.10.7.4/rst", "RST outside the window: drop"},
	ReasonRSTInWindowChallenge:   {"rst-in-window", "rfc9293:3.10.7.4/rst-in-window", "RST in window but not exact: challenge ACK, RFC 5961 §3.2"},
	ReasonRSTReset:               {"rst-reset", "rfc9293:3.10.7.4/rst", "RST exactly at RCV.NXT: connection reset"},
	ReasonRSTSynReceivedToListen: {"rst-synrcvd-to-listen", "rfc9293:3.10.7.4/rst", "RST in SYN-RECEIVED from passive OPEN: back to LISTEN (Figure 8)"},
	ReasonSynReceivedRefused:     {"synrcvd-refused", "rfc9293:3.10.7.4/rst", "RST in SYN-RECEIVED from an active OPEN (simultaneous open): connection refused"},
	ReasonRSTClose:               {"rst-close", "rfc9293:3.10.7.4/rst", "RST in CLOSING, LAST-ACK or TIME-WAIT: delete TCB"},
	ReasonSYNChallenge:           {"syn-challenge", "rfc9293:3.10.7.4/syn", "SYN in a synchronized state: challenge ACK, RFC 5961 §4.2"},
	ReasonSYNInSynReceived:       {"syn-in-synrcvd", "rfc9293:3.10.7.4/syn", "SYN in SYN-RECEIVED from passive OPEN: back to LISTEN"},
	ReasonNoACK:                  {"no-ack", "rfc9293:3.10.7.4/ack", "segment without ACK: drop"},
	ReasonSynReceivedACK:         {"synrcvd-ack", "rfc9293:3.10.7.4/ack", "ACK of our SYN in SYN-RECEIVED: enter ESTABLISHED"},
	ReasonSynReceivedBadACK:      {"synrcvd-bad-ack", "rfc9293:3.10.7.4/ack", "unacceptable ACK in SYN-RECEIVED: answer with RST"},
	ReasonACKOfUnsent:            {"ack-of-unsent", "rfc9293:3.10.7.4/ack", "ACK of data not yet sent: send ACK, drop"},
	ReasonACKDuplicate:           {"ack-duplicate", "rfc9293:3.10.7.4/ack", "duplicate ACK"},
	ReasonACKOld:                 {"ack-too-old", "rfc5961:5.2", "ACK older than the window the peer could have seen: send ACK, drop"},
	ReasonFinAcked:               {"fin-acked", "rfc9293:3.10.7.4/ack", "our FIN is acknowledged: enter FIN-WAIT-2"},
	ReasonLastAckDone:            {"last-ack-done", "rfc9293:3.10.7.4/ack", "ACK of our FIN in LAST-ACK: delete TCB"},
	ReasonClosingDone:            {"closing-done", "rfc9293:3.10.7.4/ack", "ACK of our FIN in CLOSING: enter TIME-WAIT"},
	ReasonTextAfterFIN:           {"text-ignored", "rfc9293:3.10.7.4/text", "text after the peer's FIN: ignore"},
	ReasonTrimmedToWindow:        {"trimmed-to-window", "rfc9293:3.10.7.4/seq", "text beyond the right edge of the window: keep what fits, send ACK to tell the sender where the window ends"},
	ReasonData:                   {"data", "rfc9293:3.10.7.4/text", "in-order data: deliver, advance RCV.NXT"},
	ReasonFinReceived:            {"fin", "rfc9293:3.10.7.4/fin", "FIN: send ACK, enter CLOSE-WAIT"},
	ReasonFinInFinWait1:          {"fin-in-finwait1", "rfc9293:3.10.7.4/fin", "FIN in FIN-WAIT-1 before our FIN is acknowledged: simultaneous close, enter CLOSING"},
	ReasonFinInFinWait2:          {"fin-in-finwait2", "rfc9293:3.10.7.4/fin", "FIN in FIN-WAIT-2: send ACK, enter TIME-WAIT, start 2MSL"},
	ReasonFinRetransmitted:       {"fin-retransmitted", "rfc9293:3.10.7.4/fin", "retransmitted FIN in TIME-WAIT: ACK it, restart 2MSL"},
	ReasonTimeWaitRST:            {"timewait-rst-ignored", "rfc1337", "RST in TIME-WAIT: ignore (TIME-WAIT assassination hazard)"},
	ReasonOutOfOrder:             {"out-of-order", "rfc9293:3.10.7.4/text", "data beyond RCV.NXT: queue, send duplicate ACK"},
	ReasonZeroWindowProbe:        {"zero-window-probe", "rfc9293:3.8.6.1", "zero window: probe"},
	ReasonFinAfterRecvClosed:     {"data-after-close", "rfc2525:2.17", "data arrived after CLOSE: send RST"},
	ReasonTimeWaitReopen:         {"timewait-reopen", "rfc6191", "new SYN beyond RCV.NXT in TIME-WAIT: end TIME-WAIT, accept the new connection"},
	ReasonFastRetransmit:         {"fast-retransmit", "rfc5681:3.2", "loss detected: retransmit the first lost segment, enter fast recovery"},
	ReasonRecoveryRetransmit:     {"recovery-rtx", "rfc6675:5", "fast recovery: retransmit a segment judged lost (NextSeg)"},

	ReasonRetransmitSYN:        {"rtx-syn", "rfc6298:5", "retransmission timer expired: resend SYN, back off"},
	ReasonRetransmitSYNACK:     {"rtx-syn-ack", "rfc6298:5", "retransmission timer expired: resend SYN-ACK, back off"},
	ReasonRetransmitData:       {"rtx-data", "rfc6298:5", "retransmission timer expired: resend data, back off"},
	ReasonRetransmitFIN:        {"rtx-fin", "rfc6298:5", "retransmission timer expired: resend FIN, back off"},
	ReasonGiveUp:               {"give-up", "rfc9293:3.8.3", "retransmission limit R2 reached: connection timed out"},
	ReasonTimeWaitExpired:      {"2msl-expired", "rfc9293:3.10.8", "2MSL expired in TIME-WAIT: delete TCB"},
	ReasonFinWait2Timeout:      {"finwait2-timeout", "rfc9293:3.10.8", "orphaned FIN-WAIT-2 timed out: delete TCB"},
	ReasonUserTimeout:          {"user-timeout", "rfc5482", "user timeout expired: connection timed out"},
	ReasonDelayedACK:           {"delayed-ack", "rfc9293:3.8.6.3", "delayed ACK timer expired: send ACK"},
	ReasonWindowUpdate:         {"window-update", "rfc9293:3.8.6.2.2", "receive window opened: send window update"},
	ReasonKeepAlive:            {"keepalive", "rfc1122:4.2.3.6", "idle connection: send keep-alive probe"},
	ReasonKeepAliveTimeout:     {"keepalive-timeout", "rfc1122:4.2.3.6", "keep-alive probes unanswered: connection timed out"},
	ReasonTailLossProbe:        {"tlp", "rfc8985:7.3", "probe time-out: resend the last segment as a tail loss probe"},
	ReasonTailLossProbeNewData: {"tlp-new-data", "rfc8985:7.3", "probe time-out: send new data as a tail loss probe"},
	ReasonPAWS:                 {"paws", "rfc7323:5.3", "timestamp older than TS.Recent (PAWS): send ACK, drop"},
	ReasonNoTimestamp:          {"no-timestamp", "rfc7323:3.2", "segment without the negotiated timestamp option: drop"},
	ReasonDuplicateData:        {"duplicate-data", "rfc2883", "data already received: ACK it with a D-SACK block"},
	ReasonICMPIgnored:          {"icmp-ignored", "rfc5927:4.1", "ICMP error for a sequence number not in flight, or no news: ignore"},
	ReasonICMPHardError:        {"icmp-hard-error", "rfc1122:4.2.3.9", "port unreachable during the handshake: connection refused"},
	ReasonPMTU:                 {"pmtu", "rfc1191:6.3", "packet too big: lower the MSS, resend what no longer fits"},

	ReasonInvalidRateLimited: {"invalid-ratelimit", "rfc5961:7", "unacceptable segment: drop, no ACK: the connection sent one too recently (ACK throttling)"},
	ReasonChallengeACKLimit:  {"challenge-ack-limit", "rfc5961:7", "unacceptable segment: drop, no ACK: the stack's challenge-ACK budget for this second is spent"},
	ReasonRSTRateLimited:     {"rst-ratelimit", "rfc9293:3.10.7.1", "segment for no connection: drop, no RST: the stack's RST rate limit is reached"},
	ReasonOOOLimit:           {"ooo-limit", "rfc9293:3.10.7.4/text", "out-of-order data would start a block beyond the connection's bound: drop, send duplicate ACK"},
	ReasonRecvBudget:         {"rcv-budget", "rfc9293:3.10.7.4/text", "no memory left in the buffer budget for data in the window: drop it, send duplicate ACK"},
	ReasonKeepAliveProbe:     {"keepalive-probe", "rfc1122:4.2.3.6", "keep-alive probe (SEG.SEQ = RCV.NXT-1): answer with ACK"},
	ReasonRSTAtWindowEdge:    {"rst-window-edge", "rfc5961:3.2", "RST at the right edge of the window (a peer that filled it resets there): challenge ACK, as Linux does"},
}

// Code is the short machine-readable name, for example "rst-in-window".
func (r Reason) Code() string {
	if r < numReasons {
		return reasons[r].code
	}
	return "unknown"
}

// Rule is the RFC rule that decides it, for example "rfc9293:3.10.7.4/rst-in-window".
func (r Reason) Rule() string {
	if r < numReasons {
		return reasons[r].rule
	}
	return ""
}

// Text says it in one line for people.
func (r Reason) Text() string {
	if r < numReasons {
		return reasons[r].text
	}
	return ""
}

// String is the code.
func (r Reason) String() string { return r.Code() }

package tcp

// State is a connection state of RFC 9293 §3.3.2. The transitions follow
// Figure 5 of the RFC:
//
//	                            +---------+ ---------\      active OPEN
//	                            |  CLOSED |            \    -----------
//	                            +---------+<---------\   \   create TCB
//	                              |     ^              \   \  snd SYN
//	                 passive OPEN |     |   CLOSE        \   \
//	                 ------------ |     | ----------       \   \
//	                  create TCB  |     | delete TCB         \   \
//	                              V     |                      \   \
//	          rcv RST (note 1)  +---------+            CLOSE    |    \
//	       -------------------->|  LISTEN |          ---------- |     |
//	      /                     +---------+          delete TCB |     |
//	     /           rcv SYN      |     |     SEND              |     |
//	    /           -----------   |     |    -------            |     V
//	+--------+      snd SYN,ACK  /       \   snd SYN          +--------+
//	|        |<-----------------           ------------------>|        |
//	|  SYN   |                    rcv SYN                     |  SYN   |
//	|  RCVD  |<-----------------------------------------------|  SENT  |
//	|        |                  snd SYN,ACK                   |        |
//	|        |------------------           -------------------|        |
//	+--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
//	   |         --------------   |     |   -----------
//	   |                x         |     |     snd ACK
//	   |                          V     V
//	   |  CLOSE                 +---------+
//	   | -------                |  ESTAB  |
//	   | snd FIN                +---------+
//	   |                 CLOSE    |     |    rcv FIN
//	   V                -------   |     |    -------
//	+---------+         snd FIN  /       \   snd ACK         +---------+
//	|  FIN    |<----------------          ------------------>|  CLOSE  |
//	| WAIT-1  |------------------                            |   WAIT  |
//	+---------+          rcv FIN  \                          +---------+
//	  | rcv ACK of FIN   -------   |                          CLOSE  |
//	  | --------------   snd ACK   |                         ------- |
//	  V        x                   V                         snd FIN V
//	+---------+               +---------+                    +---------+
//	|FINWAIT-2|               | CLOSING |                    | LAST-ACK|
//	+---------+               +---------+                    +---------+
//	  |              rcv ACK of FIN |                 rcv ACK of FIN |
//	  |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
//	  |  -------            x       V    ------------        x       V
//	   \ snd ACK              +---------+delete TCB          +---------+
//	     -------------------->|TIME-WAIT|------------------->| CLOSED  |
//	                          +---------+                    +---------+
//
// Note 1: a connection that came from LISTEN returns there on RST.
type State uint8

// The eleven states of RFC 9293 §3.3.2.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
	numStates
)

var stateNames = [numStates]string{
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN-SENT",
	SynReceived: "SYN-RECEIVED",
	Established: "ESTABLISHED",
	FinWait1:    "FIN-WAIT-1",
	FinWait2:    "FIN-WAIT-2",
	CloseWait:   "CLOSE-WAIT",
	Closing:     "CLOSING",
	LastAck:     "LAST-ACK",
	TimeWait:    "TIME-WAIT",
}

// String returns the RFC name of the state, for example "SYN-SENT".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// Synchronized reports whether the state is one of the synchronized states
// of RFC 9293 §3.5.2 (ESTABLISHED and every state after it).
func (s State) Synchronized() bool { return s >= Established && s < numStates }

// Package demo is `tunstack demo`: a guided tour of TCP's states in a
// network namespace of its own, with the stack on one end of every
// connection and the Linux kernel on the other. Each step is a real
// connection drawn as a ladder diagram (package ladder) with the stack's
// states and the reasons its engine gave, and beside them the kernel's own
// states, read from its sock:inet_sock_set_state tracepoint (package
// kernelstates), or inferred from its segments where tracefs cannot be
// used. Together the steps show every state of RFC 9293's Figure 5 on
// both sides: the kernel closing first, the stack closing first and
// waiting out 2MSL, a simultaneous close through CLOSING, a RST from a
// closed port, and a SYN lost and sent again when the retransmission
// timer expires. Each step checks both state paths against the figure.
//
// The demo does not start the stack itself: cmd/tunstack starts its
// daemon with the Setup the demo asks for (addresses, MSL, and the demo's
// link between the device and the stack, which loses or holds one segment
// on purpose), and the demo drives it through the Stack interface.
//
// Everything it creates (daemon, device, namespace, trace instance) is
// removed when it ends, also on failure and on Ctrl-C.
package demo

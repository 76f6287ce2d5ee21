package ss

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
)

// PrintUDP writes the UDP sockets of a status reply as ss -uan does (-u):
// connected sockets (ESTAB) by default, with -a the unconnected ones
// (UNCONN) too, with -l those only; or as a JSON array. Below each socket
// a tab-indented line gives the datagrams waiting and those dropped.
func (o *Options) PrintUDP(w io.Writer, socks []control.UDPSocket) error {
	shown := []control.UDPSocket{}
	for _, s := range socks {
		connected := s.Remote != ""
		if o.Listening && connected || !o.Listening && !o.All && !connected {
			continue
		}
		shown = append(shown, s)
	}
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(shown)
	}
	rows := [][]string{{"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"}}
	for _, s := range shown {
		state, peer := "UNCONN", "*:*"
		if s.Remote != "" {
			state, peer = "ESTAB", s.Remote
		}
		rows = append(rows, []string{state, strconv.Itoa(s.RecvQ), "0", s.Local, peer})
	}
	lines := columns(rows)
	fmt.Fprintln(w, lines[0])
	for i, s := range shown {
		fmt.Fprintln(w, lines[i+1])
		fmt.Fprintf(w, "\t datagrams:%d drops:%d\n", s.Datagrams, s.Drops)
	}
	return nil
}

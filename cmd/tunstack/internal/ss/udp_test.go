package ss

import (
	"strings"
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
)

func TestPrintUDP(t *testing.T) {
	socks := []control.UDPSocket{
		{Local: "[::]:7", RecvQ: 5, Datagrams: 1, Drops: 2},
		{Local: "10.77.0.2:50000", Remote: "10.77.0.1:53"},
	}
	for _, tt := range []struct {
		name      string
		o         Options
		want, not []string
	}{
		{"connected by default", Options{}, []string{"ESTAB", "10.77.0.1:53"}, []string{"UNCONN"}},
		{"-a: all", Options{All: true}, []string{"ESTAB", "UNCONN", "[::]:7", "*:*", "datagrams:1 drops:2"}, nil},
		{"-l: unconnected", Options{Listening: true}, []string{"UNCONN", "[::]:7"}, []string{"ESTAB"}},
		{"--json", Options{All: true, JSON: true}, []string{`"local": "[::]:7"`, `"remote": "10.77.0.1:53"`, `"drops": 2`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.o.PrintUDP(&b, socks); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, b.String())
				}
			}
			for _, not := range tt.not {
				if strings.Contains(b.String(), not) {
					t.Errorf("output has %q:\n%s", not, b.String())
				}
			}
		})
	}
}

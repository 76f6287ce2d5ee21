package control

import (
	"strings"
	"testing"
)

func TestParseDialTarget(t *testing.T) {
	for _, tt := range []struct {
		in, want, wantErr string
	}{
		{in: "10.77.0.1:9000", want: "10.77.0.1:9000"},
		{in: "[fd00:77::1]:80", want: "[fd00:77::1]:80"},
		{in: "[::ffff:10.77.0.1]:80", want: "10.77.0.1:80"},
		{in: "10.77.0.1", wantErr: "want HOST:PORT"},
		{in: "fd00:77::1:80", wantErr: "want HOST:PORT"},
		{in: "example.com:80", wantErr: "not an IP address (the stack does not resolve names)"},
		{in: "10.77.0.1:0", wantErr: `bad port "0"`},
		{in: "10.77.0.1:http", wantErr: `bad port "http"`},
	} {
		got, err := ParseDialTarget(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDialTarget(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("ParseDialTarget(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

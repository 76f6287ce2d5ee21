package demo

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeSystem has some programs installed; apt-get "installs" packages by
// adding their programs, failing the first install if staleLists is set.
type fakeSystem struct {
	installed  map[string]bool
	staleLists bool
	noAptGet   bool
	calls      []string
}

var packagePrograms = map[string]string{"curl": "curl", "netcat-openbsd": "nc", "iputils-ping": "ping", "iproute2": "ip"}

func (f *fakeSystem) installer() Installer {
	return Installer{
		lookPath: func(program string) (string, error) {
			if program == "apt-get" && !f.noAptGet || f.installed[program] {
				return "/usr/bin/" + program, nil
			}
			return "", exec.ErrNotFound
		},
		aptGet: func(ctx context.Context, out io.Writer, args ...string) error {
			f.calls = append(f.calls, strings.Join(args, " "))
			if args[0] == "update" {
				f.staleLists = false
				return nil
			}
			if f.staleLists {
				io.WriteString(out, "E: Unable to locate package netcat-openbsd\n")
				return errors.New("exit status 100")
			}
			for _, pkg := range args[4:] {
				f.installed[packagePrograms[pkg]] = true
			}
			return nil
		},
	}
}

func TestEnsureTools(t *testing.T) {
	tools := []demoTool{{program: "ip", pkg: "iproute2"}, {program: "curl", pkg: "curl"}, {program: "nc", pkg: "netcat-openbsd"}, {program: "ping", pkg: "iputils-ping"}}
	tests := []struct {
		name      string
		system    fakeSystem
		wantOut   string
		wantCalls []string
		wantErr   string
	}{
		{
			name:   "all there",
			system: fakeSystem{installed: map[string]bool{"ip": true, "curl": true, "nc": true, "ping": true}},
		},
		{
			name:      "installs the missing",
			system:    fakeSystem{installed: map[string]bool{"ip": true, "curl": true}},
			wantOut:   "tunstack: installing netcat-openbsd iputils-ping with apt-get (the demo runs nc, ping)\n",
			wantCalls: []string{"install -y -q --no-install-recommends netcat-openbsd iputils-ping"},
		},
		{
			name:    "updates the lists when the install fails",
			system:  fakeSystem{installed: map[string]bool{"ip": true, "curl": true, "ping": true}, staleLists: true},
			wantOut: "tunstack: installing netcat-openbsd with apt-get (the demo runs nc)\n",
			wantCalls: []string{
				"install -y -q --no-install-recommends netcat-openbsd",
				"update -q",
				"install -y -q --no-install-recommends netcat-openbsd",
			},
		},
		{
			name:    "no apt-get",
			system:  fakeSystem{installed: map[string]bool{"ip": true}, noAptGet: true},
			wantErr: "the demo needs curl, nc, ping: install curl netcat-openbsd iputils-ping",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := tt.system.installer().ensure(context.Background(), &out, tools)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ensure = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ensure: %v", err)
			}
			if out.String() != tt.wantOut {
				t.Errorf("output %q, want %q", out.String(), tt.wantOut)
			}
			if diff := cmp.Diff(tt.wantCalls, tt.system.calls); diff != "" {
				t.Errorf("apt-get calls (-want +got):\n%s", diff)
			}
		})
	}
}

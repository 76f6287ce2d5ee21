package flags

import "testing"

func TestValidateDeviceName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"tunstack0", true},
		{"a", true},
		{"fifteen-bytes-x", true},
		{"sixteen-bytes-xx", false},
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a:b", false},
		{"a b", false},
	} {
		if err := validateDeviceName(tt.name); (err == nil) != tt.ok {
			t.Errorf("validateDeviceName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestDefaultControlPath(t *testing.T) {
	for _, tt := range []struct{ dev, netns, want string }{
		{"tunstack0", "", "/run/tunstack/tunstack0.sock"},
		{"tunstack0", "lab", "/run/tunstack/lab-tunstack0.sock"},
		{"t1", "tunstack-demo-1a2b", "/run/tunstack/tunstack-demo-1a2b-t1.sock"},
	} {
		if got := defaultControlPath(tt.dev, tt.netns); got != tt.want {
			t.Errorf("defaultControlPath(%q, %q) = %q, want %q", tt.dev, tt.netns, got, tt.want)
		}
	}
}

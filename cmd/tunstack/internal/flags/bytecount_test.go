package flags

import "testing"

func TestParseByteCount(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"4096", 4096, true},
		{"4MiB", 4 << 20, true},
		{"4 MiB", 4 << 20, true},
		{"512k", 512 << 10, true},
		{"1GB", 1 << 30, true},
		{"2gib", 2 << 30, true},
		{"1024G", 1 << 40, true},
		{"1025G", 0, false},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"1.5MiB", 0, false},
		{"4TB", 0, false},
	} {
		if got, ok := parseByteCount(tc.text); got != tc.want || ok != tc.ok {
			t.Errorf("parseByteCount(%q) = %d, %v; want %d, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

package flags

import (
	"strconv"
	"strings"
)

// parseByteCount parses a byte count: digits with an optional unit, B,
// KiB, MiB or GiB (K, M, G and KB, MB, GB mean the same powers of 1024).
// It reports false for anything else or a count beyond 1 TiB.
func parseByteCount(text string) (int64, bool) {
	s := strings.TrimSpace(text)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	digits, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20, "g": 30, "gb": 30, "gib": 30}
	sh, ok := shift[unit]
	if !ok || n > (1<<40)>>sh {
		return 0, false
	}
	return n << sh, true
}

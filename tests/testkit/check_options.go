package testkit

import (
	"slices"
	"testing"
)

// TCPOptions checks every option at once: the segment carries exactly
// the options of want, with their values, in any order.
func TCPOptions(want Options) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if !equalOptions(s.Options, want) {
			t.Errorf("options%s, want%s: %v", orNone(s.Options), orNone(want), s)
		}
	})
}

func equalOptions(a, b Options) bool {
	return a.MSS == b.MSS && a.HasWindowScale == b.HasWindowScale && (!a.HasWindowScale || a.WindowScale == b.WindowScale) &&
		a.SACKPermitted == b.SACKPermitted && a.HasTimestamps == b.HasTimestamps &&
		(!a.HasTimestamps || a.TSVal == b.TSVal && a.TSEcr == b.TSEcr) &&
		slices.Equal(a.SACK, b.SACK) && slices.Equal(a.Other, b.Other)
}

func orNone(o Options) string {
	if s := o.String(); s != "" {
		return s
	}
	return " <none>"
}

// TCPMSS checks the MSS option: present with the value want, or absent if
// want is 0.
func TCPMSS(want uint16) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if s.Options.MSS != want {
			t.Errorf("MSS option %d, want %d (0: none): %v", s.Options.MSS, want, s)
		}
	})
}

// TCPWindowScale checks that the window scale option is present with the
// shift want (RFC 7323 §2).
func TCPWindowScale(want uint8) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if !s.Options.HasWindowScale || s.Options.WindowScale != want {
			t.Errorf("window scale option %v shift %d, want shift %d: %v", s.Options.HasWindowScale, s.Options.WindowScale, want, s)
		}
	})
}

// TCPSACKPermitted checks whether the SACK-permitted option is present
// (RFC 2018 §2).
func TCPSACKPermitted(want bool) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if s.Options.SACKPermitted != want {
			t.Errorf("SACK-permitted option %v, want %v: %v", s.Options.SACKPermitted, want, s)
		}
	})
}

// TCPSACKBlocks checks the SACK option's blocks, in order (RFC 2018 §3:
// the first block holds the most recent data); none means no SACK option.
func TCPSACKBlocks(want ...SACKBlock) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if !slices.Equal(s.Options.SACK, want) {
			t.Errorf("SACK blocks %v, want %v: %v", s.Options.SACK, want, s)
		}
	})
}

// TCPTimestamps checks that the timestamps option is present with TSval
// val and TSecr ecr (RFC 7323 §3).
func TCPTimestamps(val, ecr uint32) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		o := s.Options
		if !o.HasTimestamps || o.TSVal != val || o.TSEcr != ecr {
			t.Errorf("timestamps option %v val %d ecr %d, want val %d ecr %d: %v", o.HasTimestamps, o.TSVal, o.TSEcr, val, ecr, s)
		}
	})
}

// TCPTimestampEcr checks that the timestamps option is present and echoes
// ecr, whatever its own clock says.
func TCPTimestampEcr(ecr uint32) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if !s.Options.HasTimestamps || s.Options.TSEcr != ecr {
			t.Errorf("timestamps option %v ecr %d, want ecr %d: %v", s.Options.HasTimestamps, s.Options.TSEcr, ecr, s)
		}
	})
}

// TCPNoOption checks that no option of kind is present (OptWindowScale,
// OptTimestamps, ...).
func TCPNoOption(kind uint8) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		o := s.Options
		present := map[uint8]bool{OptMSS: o.MSS != 0, OptWindowScale: o.HasWindowScale, OptSACKPermitted: o.SACKPermitted,
			OptSACK: len(o.SACK) > 0, OptTimestamps: o.HasTimestamps}[kind] || slices.Contains(o.Other, kind)
		if present {
			t.Errorf("an option of kind %d, want none: %v", kind, s)
		}
	})
}

package ladder

import (
	"strings"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Cite says why in one line for people: the RFC rule, then the engine's
// text, for example "RFC 9293 §3.10.7.4: RST in window but not exact:
// challenge ACK, RFC 5961 §3.2". It is empty for tcp.ReasonNone.
func Cite(r tcp.Reason) string {
	if r == tcp.ReasonNone {
		return ""
	}
	text := r.Text()
	if text == "" {
		text = r.Code()
	}
	if rule := RuleName(r.Rule()); rule != "" {
		return rule + ": " + text
	}
	return text
}

// RuleName writes a rule as the engine records it ("rfc9293:3.10.7.4/rst",
// "rfc1337") the way RFCs are cited ("RFC 9293 §3.10.7.4", "RFC 1337").
// The part after "/" names the check within the section; it is left out.
// Anything it does not recognise comes back unchanged.
func RuleName(rule string) string {
	rule, _, _ = strings.Cut(rule, "/")
	number, section, hasSection := strings.Cut(rule, ":")
	digits, ok := strings.CutPrefix(strings.ToLower(number), "rfc")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return rule
	}
	if hasSection && section != "" {
		return "RFC " + digits + " §" + section
	}
	return "RFC " + digits
}

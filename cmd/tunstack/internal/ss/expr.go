package ss

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Filter is what follows `tunstack ss`'s flags, as ss(8) reads it:
//
//	[ state STATE | exclude STATE ]... [ EXPRESSION ]
//
// where EXPRESSION joins conditions on the ends of a connection with and,
// or, not (also &&, ||, !; and where nothing joins two conditions) and
// parentheses:
//
//	src ADDR[/LEN][:PORT]   dst ADDR[/LEN][:PORT]   (also *, :PORT)
//	sport OP :PORT          dport OP :PORT
//
// OP is = == eq, != ne neq, > gt, < lt, >= ge, <= le, or nothing for
// equality. As in ss, src and sport are the stack's end, dst and dport
// the peer's.
type Filter struct {
	States   []string // after state: ss's names or the RFC's
	Excluded []string // after exclude
	Expr     *Expr    // nil when there is none
}

// Expr is a parsed EXPRESSION.
type Expr struct{ root node }

// Match reports whether a connection with these ends passes. A
// listener's missing peer (an invalid remote) passes no dst or dport
// condition.
func (e *Expr) Match(local, remote netip.AddrPort) bool {
	return e == nil || e.root.match(local, remote)
}

type node interface {
	match(local, remote netip.AddrPort) bool
}

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ n node }

func (n andNode) match(l, r netip.AddrPort) bool { return n.a.match(l, r) && n.b.match(l, r) }
func (n orNode) match(l, r netip.AddrPort) bool  { return n.a.match(l, r) || n.b.match(l, r) }
func (n notNode) match(l, r netip.AddrPort) bool { return !n.n.match(l, r) }

// hostCond is src or dst: an address or prefix, a port, or both.
type hostCond struct {
	remote bool
	prefix netip.Prefix // invalid: any address
	port   uint16       // 0: any port
}

func (c hostCond) match(l, r netip.AddrPort) bool {
	a := l
	if c.remote {
		a = r
	}
	if !a.IsValid() {
		return false
	}
	return (!c.prefix.IsValid() || c.prefix.Contains(a.Addr().Unmap())) && (c.port == 0 || c.port == a.Port())
}

// portCond is sport or dport compared with a port.
type portCond struct {
	remote bool
	op     string // one of eq ne gt lt ge le
	port   uint16
}

func (c portCond) match(l, r netip.AddrPort) bool {
	a := l
	if c.remote {
		a = r
	}
	if !a.IsValid() {
		return false
	}
	p := a.Port()
	switch c.op {
	case "ne":
		return p != c.port
	case "gt":
		return p > c.port
	case "lt":
		return p < c.port
	case "ge":
		return p >= c.port
	case "le":
		return p <= c.port
	}
	return p == c.port
}

// operators maps ss's spellings of a comparison to one name.
var operators = map[string]string{
	"=": "eq", "==": "eq", "eq": "eq",
	"!=": "ne", "ne": "ne", "neq": "ne",
	">": "gt", "gt": "gt",
	"<": "lt", "lt": "lt",
	">=": "ge", "ge": "ge", "geq": "ge",
	"<=": "le", "le": "le", "leq": "le",
}

// ParseFilter reads ss's positional arguments: state and exclude
// selections, then an expression.
func ParseFilter(args []string) (Filter, error) {
	var f Filter
	toks := tokenize(args)
	for len(toks) > 0 && (toks[0] == "state" || toks[0] == "exclude" || toks[0] == "excl") {
		if len(toks) == 1 {
			return Filter{}, fmt.Errorf("%s: which state? (e.g. %s established)", toks[0], toks[0])
		}
		if toks[0] == "state" {
			f.States = append(f.States, toks[1])
		} else {
			f.Excluded = append(f.Excluded, toks[1])
		}
		toks = toks[2:]
	}
	if len(toks) == 0 {
		return f, nil
	}
	p := parser{toks: toks}
	root, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	if err != nil {
		return Filter{}, fmt.Errorf("filter %q: %v", strings.Join(args, " "), err)
	}
	f.Expr = &Expr{root}
	return f, nil
}

// tokenize splits the arguments into words, and parentheses and a
// leading "!" off the words they stick to: '( dport = :80 )' and
// '(dport = :80)' read the same.
func tokenize(args []string) []string {
	var toks []string
	for _, arg := range args {
		for _, w := range strings.Fields(arg) {
			for len(w) > 1 && (w[0] == '(' || w[0] == '!' && w[1] != '=') {
				toks, w = append(toks, w[:1]), w[1:]
			}
			var closing int
			for len(w) > 1 && w[len(w)-1] == ')' {
				w, closing = w[:len(w)-1], closing+1
			}
			toks = append(toks, w)
			for range closing {
				toks = append(toks, ")")
			}
		}
	}
	return toks
}

type parser struct {
	toks []string
	pos  int
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	if t != "" {
		p.pos++
	}
	return t
}

// or := and { ("or" | "||" | "|") and }
func (p *parser) or() (node, error) {
	n, err := p.and()
	for err == nil && (p.peek() == "or" || p.peek() == "||" || p.peek() == "|") {
		p.next()
		var b node
		if b, err = p.and(); err == nil {
			n = orNode{n, b}
		}
	}
	return n, err
}

// and := unary { ["and" | "&&" | "&"] unary }
func (p *parser) and() (node, error) {
	n, err := p.unary()
	for err == nil {
		switch p.peek() {
		case "and", "&&", "&":
			p.next()
		case "", ")", "or", "||", "|":
			return n, nil
		}
		var b node
		if b, err = p.unary(); err == nil {
			n = andNode{n, b}
		}
	}
	return n, err
}

// unary := ("not" | "!") unary | "(" or ")" | condition
func (p *parser) unary() (node, error) {
	switch t := p.next(); t {
	case "not", "!":
		n, err := p.unary()
		return notNode{n}, err
	case "(":
		n, err := p.or()
		if err == nil && p.next() != ")" {
			err = fmt.Errorf("a ( without its )")
		}
		return n, err
	case "src", "dst":
		text := p.next()
		if text == "" {
			return nil, fmt.Errorf("%s: want ADDR, ADDR/LEN, ADDR:PORT or :PORT", t)
		}
		c, err := parseHostCond(text)
		c.remote = t == "dst"
		if err != nil {
			err = fmt.Errorf("%s %s: %v", t, text, err)
		}
		return c, err
	case "sport", "dport":
		op := "eq"
		if name, ok := operators[p.peek()]; ok {
			op = name
			p.next()
		}
		text := p.next()
		port, err := parsePort(text)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", t, text, err)
		}
		return portCond{remote: t == "dport", op: op, port: port}, nil
	case "dev", "fwmark", "cgroup", "autobound", "inode":
		return nil, fmt.Errorf("%s: the stack's connections have no %s to filter on; use src, dst, sport, dport", t, t)
	case "":
		return nil, fmt.Errorf("the expression ends early")
	default:
		return nil, fmt.Errorf("unexpected %q: want src, dst, sport, dport, not or (", t)
	}
}

// parsePort reads ":80", "*:80" or "80".
func parsePort(text string) (uint16, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(text, "*"), ":")
	port, err := strconv.ParseUint(s, 10, 16)
	if err != nil || text == "" {
		return 0, fmt.Errorf("want a port as :PORT (a number; service names are not looked up)")
	}
	return uint16(port), nil
}

// parseHostCond reads src's and dst's "10.77.0.1", "10.77.0.0/24",
// "10.77.0.1:80", "[fd00:77::1]:80", "fd00:77::/64", ":80", "*:80", "*".
func parseHostCond(text string) (hostCond, error) {
	var c hostCond
	addr, portText := text, ""
	switch {
	case text == "*":
		return c, nil
	case strings.HasPrefix(text, "["):
		end := strings.Index(text, "]")
		if end < 0 {
			return c, fmt.Errorf("a [ without its ]")
		}
		addr, portText = text[1:end], strings.TrimPrefix(text[end+1:], ":")
		if rest := text[end+1:]; rest != "" && !strings.HasPrefix(rest, ":") && !strings.HasPrefix(rest, "/") {
			return c, fmt.Errorf("want [ADDR]:PORT")
		}
		if strings.HasPrefix(text[end+1:], "/") {
			addr, portText = text[1:end]+text[end+1:], ""
		}
	case strings.Count(text, ":") == 1: // IPv4:PORT, *:PORT or :PORT
		addr, portText, _ = strings.Cut(text, ":")
	}
	if portText != "" {
		port, err := parsePort(portText)
		if err != nil {
			return c, err
		}
		c.port = port
	}
	switch {
	case addr == "" || addr == "*":
	case strings.Contains(addr, "/"):
		prefix, err := netip.ParsePrefix(addr)
		if err != nil {
			return c, fmt.Errorf("want ADDR/LEN")
		}
		c.prefix = prefix.Masked()
	default:
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return c, fmt.Errorf("want ADDR, ADDR/LEN, ADDR:PORT, [ADDR]:PORT or :PORT")
		}
		c.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	}
	return c, nil
}

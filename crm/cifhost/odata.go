package cifhost

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The OData subset the double understands: $select, $filter (eq ne gt ge
// lt le, and or not, parentheses, contains/startswith/endswith), $top and
// $orderby (one column). String comparisons are case-insensitive and the
// string functions are SQL LIKE underneath, so % _ and [..] inside their
// literals are wildcards, as in Dataverse.

// QueryOptions are parsed system query options.
type QueryOptions struct {
	Select  []string
	Filter  Expr
	Top     int
	OrderBy string
	Desc    bool
}

// Limits that keep a hostile query from exhausting the double.
const (
	maxFilterLen   = 32 << 10
	maxFilterDepth = 64
	maxTop         = 5000
)

// ParseQuery reads a raw query string as it arrives on the wire
// ("$select=a,b&$filter=…"); values are percent-decoded the way a server
// decodes a query, so a bare "+" reads as a space (Dataverse's own trap:
// "+" must be sent as %2B).
func ParseQuery(raw string) (QueryOptions, error) {
	raw = strings.TrimPrefix(raw, "?")
	var q QueryOptions
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return q, fmt.Errorf("malformed query option %q", k)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return q, fmt.Errorf("malformed value of %s", key)
		}
		switch key {
		case "$select":
			for c := range strings.SplitSeq(val, ",") {
				c = strings.TrimSpace(c)
				if c == "" {
					return q, fmt.Errorf("empty column in $select")
				}
				q.Select = append(q.Select, c)
			}
		case "$filter":
			e, err := ParseFilter(val)
			if err != nil {
				return q, err
			}
			q.Filter = e
		case "$top":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return q, fmt.Errorf("invalid $top %q", val)
			}
			if n > maxTop {
				return q, fmt.Errorf("$top %d is more than %d", n, maxTop)
			}
			q.Top = n
		case "$orderby":
			f := strings.Fields(val)
			if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "asc" && f[1] != "desc") {
				return q, fmt.Errorf("unsupported $orderby %q", val)
			}
			q.OrderBy, q.Desc = f[0], len(f) == 2 && f[1] == "desc"
		case "$expand", "$count", "$search", "$apply":
			return q, fmt.Errorf("the query option %s is not supported by this double", key)
		default:
			if strings.HasPrefix(key, "$") {
				return q, fmt.Errorf("the query parameter '%s' is not supported", key)
			}
		}
	}
	return q, nil
}

// Expr is a parsed $filter expression.
type Expr interface {
	eval(rec map[string]any) bool
	columns(func(string))
	String() string
}

type boolExpr struct {
	op   string // and, or
	l, r Expr
}

func (b boolExpr) eval(rec map[string]any) bool {
	if b.op == "and" {
		return b.l.eval(rec) && b.r.eval(rec)
	}
	return b.l.eval(rec) || b.r.eval(rec)
}
func (b boolExpr) columns(f func(string)) { b.l.columns(f); b.r.columns(f) }
func (b boolExpr) String() string         { return "(" + b.l.String() + " " + b.op + " " + b.r.String() + ")" }

type notExpr struct{ e Expr }

func (n notExpr) eval(rec map[string]any) bool { return !n.e.eval(rec) }
func (n notExpr) columns(f func(string))       { n.e.columns(f) }
func (n notExpr) String() string               { return "not " + n.e.String() }

// Literal is a constant in a filter.
type Literal struct {
	Kind  string // string, number, bool, null, guid
	Value any
	Text  string
}

// FuncExpr is contains/startswith/endswith(Column, Arg).
type FuncExpr struct {
	Name   string
	Column string
	Arg    string
}

func (c FuncExpr) eval(rec map[string]any) bool {
	v, ok := rec[c.Column].(string)
	if !ok {
		return false
	}
	pat := c.Arg
	switch c.Name {
	case "contains":
		pat = "%" + pat + "%"
	case "startswith":
		pat += "%"
	case "endswith":
		pat = "%" + pat
	}
	return like(v, pat)
}
func (c FuncExpr) columns(f func(string)) { f(c.Column) }
func (c FuncExpr) String() string {
	return c.Name + "(" + c.Column + ",'" + strings.ReplaceAll(c.Arg, "'", "''") + "')"
}

// CmpExpr is Column op Literal.
type CmpExpr struct {
	Column string
	Op     string
	Lit    Literal
}

func (c CmpExpr) eval(rec map[string]any) bool {
	v, present := rec[c.Column]
	if c.Lit.Kind == "null" {
		isNull := !present || v == nil
		if c.Op == "eq" {
			return isNull
		}
		return c.Op == "ne" && !isNull
	}
	if !present || v == nil {
		return c.Op == "ne"
	}
	cmp, ok := compare(v, c.Lit)
	if !ok {
		return false
	}
	switch c.Op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "gt":
		return cmp > 0
	case "ge":
		return cmp >= 0
	case "lt":
		return cmp < 0
	case "le":
		return cmp <= 0
	}
	return false
}
func (c CmpExpr) columns(f func(string)) { f(c.Column) }
func (c CmpExpr) String() string         { return c.Column + " " + c.Op + " " + c.Lit.Text }

func compare(v any, l Literal) (int, bool) {
	switch x := v.(type) {
	case string:
		var s string
		switch l.Kind {
		case "string", "guid":
			s = l.Value.(string)
		default:
			return 0, false
		}
		if t1, err := time.Parse(time.RFC3339, x); err == nil {
			if t2, err := time.Parse(time.RFC3339, s); err == nil {
				return t1.Compare(t2), true
			}
		}
		return strings.Compare(strings.ToLower(x), strings.ToLower(s)), true
	case bool:
		b, ok := l.Value.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case x == b:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case int64:
		f, ok := l.Value.(float64)
		if !ok {
			return 0, false
		}
		return cmpFloat(float64(x), f), true
	case float64:
		f, ok := l.Value.(float64)
		if !ok {
			return 0, false
		}
		return cmpFloat(x, f), true
	}
	return 0, false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// like matches SQL LIKE case-insensitively: % any run, _ one character,
// [abc] / [a-c] / [^a] a class. It runs in O(len(s)·len(pat)), so no
// pattern can make it slow.
func like(s, pat string) bool {
	type elem struct {
		kind  byte // '%', '_', '[', 'c'
		r     rune
		class []rune
	}
	pr := []rune(strings.ToLower(pat))
	var els []elem
	for i := 0; i < len(pr); i++ {
		switch pr[i] {
		case '%':
			if len(els) == 0 || els[len(els)-1].kind != '%' {
				els = append(els, elem{kind: '%'})
			}
		case '_':
			els = append(els, elem{kind: '_'})
		case '[':
			end := -1
			for j := i + 2; j < len(pr); j++ {
				if pr[j] == ']' {
					end = j
					break
				}
			}
			if end < 0 { // unterminated: a literal [
				els = append(els, elem{kind: 'c', r: '['})
				continue
			}
			els = append(els, elem{kind: '[', class: pr[i+1 : end]})
			i = end
		default:
			els = append(els, elem{kind: 'c', r: pr[i]})
		}
	}
	// cur[j]: the first i runes of s match the first j elements.
	cur := make([]bool, len(els)+1)
	cur[0] = true
	for j := 1; j <= len(els) && els[j-1].kind == '%'; j++ {
		cur[j] = true
	}
	nxt := make([]bool, len(els)+1)
	for _, c := range strings.ToLower(s) {
		nxt[0] = false
		for j := 1; j <= len(els); j++ {
			e := els[j-1]
			switch e.kind {
			case '%':
				nxt[j] = nxt[j-1] || cur[j]
			case '_':
				nxt[j] = cur[j-1]
			case '[':
				nxt[j] = cur[j-1] && inClass(c, e.class)
			default:
				nxt[j] = cur[j-1] && c == e.r
			}
		}
		cur, nxt = nxt, cur
	}
	return cur[len(els)]
}

func inClass(c rune, class []rune) bool {
	neg := len(class) > 1 && class[0] == '^'
	if neg {
		class = class[1:]
	}
	in := false
	for i := 0; i < len(class); i++ {
		if i+2 < len(class) && class[i+1] == '-' {
			if c >= class[i] && c <= class[i+2] {
				in = true
			}
			i += 2
			continue
		}
		if c == class[i] {
			in = true
		}
	}
	return in != neg
}

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

type tok struct {
	kind string // ident, string, number, guid, op, lparen, rparen, comma, eof
	text string
	val  any
	pos  int
}

func lex(s string) ([]tok, error) {
	var out []tok
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ' || r == '\t':
			i += w
		case r == '(':
			out = append(out, tok{kind: "lparen", text: "(", pos: i})
			i++
		case r == ')':
			out = append(out, tok{kind: "rparen", text: ")", pos: i})
			i++
		case r == ',':
			out = append(out, tok{kind: "comma", text: ",", pos: i})
			i++
		case r == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("syntax error at position %d: unterminated string literal", i)
			}
			out = append(out, tok{kind: "string", text: s[i:j], val: b.String(), pos: i})
			i = j
		case guidRe.MatchString(s[i:]) && (i+36 == len(s) || !isIdent(rune(s[i+36]))):
			out = append(out, tok{kind: "guid", text: s[i : i+36], val: strings.ToLower(s[i : i+36]), pos: i})
			i += 36
		case r == '-' || unicode.IsDigit(r):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			f, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("syntax error at position %d: bad number %q", i, s[i:j])
			}
			out = append(out, tok{kind: "number", text: s[i:j], val: f, pos: i})
			i = j
		case isIdent(r):
			j := i
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if !isIdent(r2) && r2 != '.' && r2 != '/' {
					break
				}
				j += w2
			}
			out = append(out, tok{kind: "ident", text: s[i:j], pos: i})
			i = j
		default:
			return nil, fmt.Errorf("syntax error at position %d: unexpected %q", i, r)
		}
	}
	return append(out, tok{kind: "eof", pos: len(s)}), nil
}

func isIdent(r rune) bool {
	return r == '_' || r == '@' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

type parser struct {
	t     []tok
	i     int
	depth int
}

// ParseFilter parses a $filter expression.
func ParseFilter(s string) (Expr, error) {
	if len(s) > maxFilterLen {
		return nil, fmt.Errorf("the $filter is longer than %d characters", maxFilterLen)
	}
	t, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{t: t}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != "eof" {
		return nil, fmt.Errorf("syntax error at position %d: unexpected %q", p.peek().pos, p.peek().text)
	}
	return e, nil
}

func (p *parser) peek() tok { return p.t[p.i] }
func (p *parser) next() tok { t := p.t[p.i]; p.i++; return t }

func (p *parser) kw(word string) bool {
	t := p.peek()
	if t.kind == "ident" && t.text == word {
		p.i++
		return true
	}
	return false
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.kw("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = boolExpr{"or", l, r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.kw("and") {
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = boolExpr{"and", l, r}
	}
	return l, nil
}

func (p *parser) not() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxFilterDepth {
		return nil, fmt.Errorf("the $filter nests deeper than %d", maxFilterDepth)
	}
	if p.kw("not") {
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	return p.primary()
}

func (p *parser) expect(kind string) (tok, error) {
	t := p.next()
	if t.kind != kind {
		return t, fmt.Errorf("syntax error at position %d: expected %s, found %q", t.pos, kind, t.text)
	}
	return t, nil
}

func (p *parser) primary() (Expr, error) {
	t := p.next()
	switch t.kind {
	case "lparen":
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("rparen"); err != nil {
			return nil, err
		}
		return e, nil
	case "ident":
	default:
		return nil, fmt.Errorf("syntax error at position %d: unexpected %q", t.pos, t.text)
	}
	switch t.text {
	case "contains", "startswith", "endswith":
		if _, err := p.expect("lparen"); err != nil {
			return nil, err
		}
		col, err := p.expect("ident")
		if err != nil {
			return nil, err
		}
		if _, err := p.expect("comma"); err != nil {
			return nil, err
		}
		lit, err := p.expect("string")
		if err != nil {
			return nil, fmt.Errorf("%s needs a string literal: %w", t.text, err)
		}
		if _, err := p.expect("rparen"); err != nil {
			return nil, err
		}
		return FuncExpr{Name: t.text, Column: col.text, Arg: lit.val.(string)}, nil
	}
	if strings.Contains(t.text, ".") || strings.Contains(t.text, "/") {
		return nil, fmt.Errorf("the function or path %q is not supported by this double", t.text)
	}
	op := p.next()
	switch op.text {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("syntax error at position %d: expected a comparison after %q", op.pos, t.text)
	}
	lt := p.next()
	var lit Literal
	switch lt.kind {
	case "string":
		lit = Literal{Kind: "string", Value: lt.val, Text: lt.text}
	case "number":
		lit = Literal{Kind: "number", Value: lt.val, Text: lt.text}
	case "guid":
		lit = Literal{Kind: "guid", Value: lt.val, Text: lt.text}
	case "ident":
		switch lt.text {
		case "true", "false":
			lit = Literal{Kind: "bool", Value: lt.text == "true", Text: lt.text}
		case "null":
			lit = Literal{Kind: "null", Text: "null"}
		default:
			return nil, fmt.Errorf("syntax error at position %d: %q is not a literal", lt.pos, lt.text)
		}
	default:
		return nil, fmt.Errorf("syntax error at position %d: expected a literal", lt.pos)
	}
	return CmpExpr{Column: t.text, Op: op.text, Lit: lit}, nil
}

// Columns lists the columns an expression reads, once each.
func Columns(e Expr) []string {
	var out []string
	seen := map[string]bool{}
	if e == nil {
		return nil
	}
	e.columns(func(c string) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	})
	return out
}

// Match reports whether rec satisfies e (nil matches everything).
func Match(e Expr, rec map[string]any) bool { return e == nil || e.eval(rec) }

// Funcs lists the string-function calls in e, for tests that check what
// a filter looks for.
func Funcs(e Expr) []FuncExpr {
	var out []FuncExpr
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case boolExpr:
			walk(x.l)
			walk(x.r)
		case notExpr:
			walk(x.e)
		case FuncExpr:
			out = append(out, x)
		}
	}
	if e != nil {
		walk(e)
	}
	return out
}

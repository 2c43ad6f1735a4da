package crm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Entity describes a Dataverse table the integration reads or writes.
type Entity struct {
	Name      string   // logical name: "contact"
	Set       string   // entity set name: "contacts"
	IDField   string   // primary key: "contactid"
	NameField string   // primary name: "fullname"
	Phones    []string // phone columns searched for a caller
}

// EntityInfo returns the description of a table the integration knows,
// with ok false for any other name.
func EntityInfo(name string) (Entity, bool) {
	switch name {
	case "contact":
		return Entity{"contact", "contacts", "contactid", "fullname", []string{"telephone1", "telephone2", "telephone3", "mobilephone"}}, true
	case "account":
		return Entity{"account", "accounts", "accountid", "name", []string{"telephone1", "telephone2", "telephone3"}}, true
	case "lead":
		return Entity{"lead", "leads", "leadid", "fullname", []string{"telephone1", "telephone2", "telephone3", "mobilephone"}}, true
	case "opportunity":
		return Entity{"opportunity", "opportunities", "opportunityid", "name", nil}, true
	case "phonecall":
		return Entity{"phonecall", "phonecalls", "activityid", "subject", nil}, true
	case "annotation":
		return Entity{"annotation", "annotations", "annotationid", "subject", nil}, true
	case "systemuser":
		return Entity{"systemuser", "systemusers", "systemuserid", "fullname", nil}, true
	}
	return Entity{}, false
}

// Search limits. CIF caps a search at 5 000 records; a phone lookup needs
// far fewer, and every candidate is confirmed in Go.
const (
	// SearchTop bounds the candidates one entity returns for a number.
	SearchTop = 100
	// TopicTop bounds the opportunities offered for "regarding".
	TopicTop = 25
	// queryDigits is the trailing digit run the filter looks for: four
	// digits are rarely split by punctuation ("138-1234-5678",
	// "(415) 555-0132"), and where they are ("06 12 34 56 78") the split
	// forms are searched too.
	queryDigits = 4
	// maxTopicLen bounds the topic an agent searches opportunities by.
	maxTopicLen = 100
)

// ErrNotSearchable: the number has too few digits to search by.
var ErrNotSearchable = errors.New("number too short to search the CRM by")

// PhoneQuery builds the OData query options ("?$select=…&$filter=…&$top=…")
// that find the records of entity whose phone columns may hold n, however
// they were typed. The filter only ever contains digits of n and the
// separators listed here, so no input can change its structure; every
// candidate must then be confirmed with MatchRule.Same.
func PhoneQuery(entity string, n Number) (string, error) {
	e, ok := EntityInfo(entity)
	if !ok || len(e.Phones) == 0 {
		return "", fmt.Errorf("phone search: unknown entity %q", entity)
	}
	d := n.Digits
	if len(d) < queryDigits {
		return "", fmt.Errorf("phone search for %q: %w", n.Raw, ErrNotSearchable)
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", fmt.Errorf("phone search for %q: %w: digits expected", n.Raw, ErrInvalidNumber)
		}
	}
	t := d[len(d)-queryDigits:]
	forms := []string{
		t,
		t[:2] + " " + t[2:], t[:2] + "-" + t[2:], t[:2] + "." + t[2:],
		t[:1] + " " + t[1:], t[:1] + "-" + t[1:],
	}
	var f strings.Builder
	for _, col := range e.Phones {
		for _, form := range forms {
			if f.Len() > 0 {
				f.WriteString(" or ")
			}
			fmt.Fprintf(&f, "contains(%s,%s)", col, ODataString(form))
		}
	}
	sel := append([]string{e.IDField, e.NameField}, e.Phones...)
	return "?$select=" + strings.Join(sel, ",") + "&$filter=" + EncodeQueryValue(f.String()) + "&$top=" + strconv.Itoa(SearchTop), nil
}

// IDQuery finds one record by its primary key; it is how a write whose
// answer was lost learns whether it happened (an empty result is an
// unambiguous "no", where a retrieve of a missing record is an error
// that looks like any other failure).
func IDQuery(entity, id string, fields ...string) (string, error) {
	e, ok := EntityInfo(entity)
	if !ok {
		return "", fmt.Errorf("id query: unknown entity %q", entity)
	}
	g, err := NormalizeGUID(id)
	if err != nil {
		return "", fmt.Errorf("id query for %s: %w", entity, err)
	}
	sel := append([]string{e.IDField}, fields...)
	return "?$select=" + strings.Join(sel, ",") + "&$filter=" + EncodeQueryValue(e.IDField+" eq "+g) + "&$top=1", nil
}

// TopicQuery finds opportunities whose topic contains the text an agent
// typed (C4 "regarding"). The text is quoted for OData and its SQL
// wildcards are escaped, so it is searched literally.
func TopicQuery(topic string) (string, error) {
	topic = strings.TrimSpace(topic)
	if topic == "" {
		return "", errors.New("opportunity search: type part of the topic first")
	}
	if !utf8.ValidString(topic) {
		return "", errors.New("opportunity search: the topic is not valid text")
	}
	if utf8.RuneCountInString(topic) > maxTopicLen {
		return "", fmt.Errorf("opportunity search: the topic is longer than %d characters", maxTopicLen)
	}
	for _, r := range topic {
		if r < 0x20 || r == 0x7f {
			return "", errors.New("opportunity search: the topic contains control characters")
		}
	}
	f := "contains(name," + ODataString(EscapeLike(topic)) + ")"
	return "?$select=opportunityid,name&$filter=" + EncodeQueryValue(f) + "&$orderby=name&$top=" + strconv.Itoa(TopicTop), nil
}

// ODataString quotes s as an OData string literal, doubling any quote
// inside it as OData requires.
func ODataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// EscapeLike makes Dataverse's LIKE wildcards (% _ [) in s literal, since
// contains/startswith/endswith are translated to SQL LIKE.
func EscapeLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '%', '_', '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// EncodeQueryValue percent-encodes a query option value the way the Web
// API needs it when the options string is passed through CIF untouched:
// "+" must travel as %2B (a bare + reads as a space), and &, #, % and
// spaces would otherwise end or corrupt the option. Quotes, commas and
// parentheses stay readable.
func EncodeQueryValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b.WriteByte(c)
		case strings.IndexByte("-._~'(),:$@!*/", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

package flatten

import (
	"bytes"
	"math"
)

// kind is the JSON type of a tape node.
type kind uint8

const (
	kNull kind = iota + 1
	kFalse
	kTrue
	kNumber
	kString
	kObject
	kArray
)

func (k kind) String() string {
	switch k {
	case kNull:
		return "null"
	case kFalse, kTrue:
		return "boolean"
	case kNumber:
		return "number"
	case kString:
		return "string"
	case kObject:
		return "object"
	case kArray:
		return "array"
	}
	return "nothing"
}

// node is one JSON value on the tape. Values are laid out in document order: an object is
// followed by its members as key node, value subtree, key node, value subtree...; an array by its
// elements. next lets a reader step over a whole subtree in O(1), so lookups never rescan bytes.
type node struct {
	// For a string: its content, quotes excluded. For a number or literal: its text. For a
	// container: from the opening bracket to just after the closing one.
	start, end uint32
	// next is the tape index just past this value's subtree.
	next uint32
	kind kind
	// flag is set on a string holding escapes and on a number with a fraction or exponent.
	flag bool
}

// scanner validates a JSON document and records it as a tape of nodes. Keeping the tape between
// calls makes steady-state scanning allocation-free, and the scanner is iterative so input
// nesting depth cannot exhaust the goroutine stack.
type scanner struct {
	tape  []node
	stack []uint32 // tape indices of the containers still open
}

// maxBody is the largest body whose offsets fit a node.
const maxBody = math.MaxUint32 - 1

// scan parses b into s.tape. b is strict JSON (RFC 8259) with two allowances that keep real
// deliveries from being dead-lettered over nothing: a leading UTF-8 byte order mark, and raw
// control characters or invalid UTF-8 inside strings, which are kept as bytes.
func (s *scanner) scan(b []byte) error {
	// The tape and stack live in locals while scanning so that an append need not store the
	// scanner's fields back for every node.
	tape, stack, err := scanTape(b, s.tape[:0], s.stack[:0])
	s.tape, s.stack = tape, stack
	return err
}

func scanTape(b []byte, tape []node, stack []uint32) ([]node, []uint32, error) {
	if len(b) > maxBody {
		return tape, stack, &SyntaxError{Offset: maxBody, Msg: "body exceeds 4 GiB"}
	}
	n := len(b)
	i := 0
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	inObject := false // whether the innermost open container is an object

value:
	i = skipSpace(b, i)
	if i >= n {
		return tape, stack, errEnd(n)
	}
	switch c := b[i]; {
	case c == '"':
		end, esc, err := scanString(b, i+1)
		if err != nil {
			return tape, stack, err
		}
		tape = append(tape, node{kind: kString, start: uint32(i + 1), end: uint32(end), next: uint32(len(tape) + 1), flag: esc})
		i = end + 1
	case c == '-' || '0' <= c && c <= '9':
		end, frac, err := scanNumber(b, i)
		if err != nil {
			return tape, stack, err
		}
		tape = append(tape, node{kind: kNumber, start: uint32(i), end: uint32(end), next: uint32(len(tape) + 1), flag: frac})
		i = end
	case c == '{' || c == '[':
		inObject = c == '{'
		k := kArray
		if inObject {
			k = kObject
		}
		stack = append(stack, uint32(len(tape)))
		tape = append(tape, node{kind: k, start: uint32(i)})
		i = skipSpace(b, i+1)
		if i < n && (inObject && b[i] == '}' || !inObject && b[i] == ']') {
			i++
			goto closeContainer
		}
		if inObject {
			goto key
		}
		goto value
	case c == 't' || c == 'f' || c == 'n':
		word, k := "null", kNull
		if c == 't' {
			word, k = "true", kTrue
		} else if c == 'f' {
			word, k = "false", kFalse
		}
		if err := expectWord(b, i, word); err != nil {
			return tape, stack, err
		}
		tape = append(tape, node{kind: k, start: uint32(i), end: uint32(i + len(word)), next: uint32(len(tape) + 1)})
		i += len(word)
	default:
		return tape, stack, errAt(i, "invalid character %s looking for beginning of value", quoteByte(c))
	}

afterValue:
	i = skipSpace(b, i)
	if len(stack) == 0 {
		if i < n {
			return tape, stack, errAt(i, "invalid character %s after top-level value", quoteByte(b[i]))
		}
		return tape, stack, nil
	}
	if i >= n {
		return tape, stack, errEnd(n)
	}
	if inObject {
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
			goto key
		case '}':
			i++
			goto closeContainer
		}
		return tape, stack, errAt(i, "expected ',' or '}' after object member, found %s", quoteByte(b[i]))
	}
	switch b[i] {
	case ',':
		i++
		goto value
	case ']':
		i++
		goto closeContainer
	}
	return tape, stack, errAt(i, "expected ',' or ']' after array element, found %s", quoteByte(b[i]))

key:
	if i >= n {
		return tape, stack, errEnd(n)
	}
	if b[i] != '"' {
		return tape, stack, errAt(i, "expected string for object key, found %s", quoteByte(b[i]))
	}
	{
		end, esc, err := scanString(b, i+1)
		if err != nil {
			return tape, stack, err
		}
		tape = append(tape, node{kind: kString, start: uint32(i + 1), end: uint32(end), next: uint32(len(tape) + 1), flag: esc})
		i = skipSpace(b, end+1)
	}
	if i >= n {
		return tape, stack, errEnd(n)
	}
	if b[i] != ':' {
		return tape, stack, errAt(i, "expected ':' after object key, found %s", quoteByte(b[i]))
	}
	i++
	goto value

closeContainer:
	{
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		tape[top].end = uint32(i)
		tape[top].next = uint32(len(tape))
		if len(stack) > 0 {
			inObject = tape[stack[len(stack)-1]].kind == kObject
		}
	}
	goto afterValue
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString finds the closing quote of the string whose content starts at i. Most of a
// callback's bytes are string content (note texts, URLs) and most strings have no escapes, so it
// finds the next quote with bytes.IndexByte and walks the bytes only when the string holds a
// backslash.
func scanString(b []byte, i int) (end int, esc bool, err error) {
search:
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, false, errAt(len(b), "unterminated string")
		}
		if bytes.IndexByte(b[i:i+q], '\\') < 0 {
			return i + q, esc, nil
		}
		// Validate the escapes before the quote; the quote itself may be escaped.
		for k := i; k < i+q; k++ {
			if b[k] != '\\' {
				continue
			}
			esc = true
			k++
			switch b[k] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for h := 1; h <= 4; h++ {
					if k+h >= len(b) {
						return 0, false, errAt(len(b), "unterminated string")
					}
					if unhex(b[k+h]) < 0 {
						return 0, false, errAt(k+h, "invalid character %s in \\u escape", quoteByte(b[k+h]))
					}
				}
				k += 4
			default:
				return 0, false, errAt(k, "invalid escape character %s in string", quoteByte(b[k]))
			}
			if k >= i+q { // the escape swallowed the quote we found: keep looking after it
				i = k + 1
				continue search
			}
		}
		return i + q, esc, nil
	}
}

// scanNumber reads the number starting at i by JSON's grammar; frac reports a fraction or
// exponent.
func scanNumber(b []byte, i int) (end int, frac bool, err error) {
	n := len(b)
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= n:
		return 0, false, errEnd(n)
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return 0, false, errAt(i, "invalid character %s in number", quoteByte(b[i]))
	}
	if i < n && b[i] == '.' {
		frac = true
		i++
		if i >= n {
			return 0, false, errEnd(n)
		}
		if !isDigit(b[i]) {
			return 0, false, errAt(i, "invalid character %s after decimal point in number", quoteByte(b[i]))
		}
		i = skipDigits(b, i+1)
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		frac = true
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n {
			return 0, false, errEnd(n)
		}
		if !isDigit(b[i]) {
			return 0, false, errAt(i, "invalid character %s in exponent of number", quoteByte(b[i]))
		}
		i = skipDigits(b, i+1)
	}
	return i, frac, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func expectWord(b []byte, i int, word string) error {
	for k := 0; k < len(word); k++ {
		if i+k >= len(b) {
			return errEnd(len(b))
		}
		if b[i+k] != word[k] {
			return errAt(i+k, "invalid character %s in literal %s", quoteByte(b[i+k]), word)
		}
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

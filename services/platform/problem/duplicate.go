package problem

import (
	"bytes"
	"encoding/json"
)

// DuplicateName reports the JSON pointer of the first member name that
// repeats within one object of body (a valid JSON text), compared the way
// encoding/json matches names to struct fields: case-insensitively. Go keeps
// the last of two equal names silently, while a gateway, WAF or validator in
// front may read the first — a parser differential — so bodies with a
// repeated name are refused rather than interpreted. One pass, no
// allocation for names without escapes.
func DuplicateName(body []byte) (pointer string, found bool) {
	// Small bodies (all the api takes) stay in these arrays: no allocation.
	var frames [8]frame
	var seen [32][]byte
	stack, names := frames[:0], seen[:0]
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			stack = append(stack, frame{object: true, first: len(names), current: -1})
		case '[':
			stack = append(stack, frame{first: len(names)})
		case '}', ']':
			names = names[:stack[len(stack)-1].first]
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; !top.object {
				top.index++
			}
		case '"':
			end := stringEnd(body, i)
			raw := body[i : end+1]
			i = end
			top := len(stack) - 1
			if top < 0 || !stack[top].object || !followedByColon(body, end+1) {
				continue // a value, not a member name
			}
			name := unescape(raw)
			for _, n := range names[stack[top].first:] {
				if bytes.EqualFold(n, name) {
					return pointerOf(stack[:top], names, name), true
				}
			}
			stack[top].current = len(names)
			names = append(names, name)
		}
	}
	return "", false
}

// frame is an object or array DuplicateName is inside.
type frame struct {
	object  bool
	first   int // where its names (objects) start in the names seen
	current int // object: the index of the name whose value is being read
	index   int // array: the current element
}

// stringEnd is the index of the closing quote of the string opening at i.
func stringEnd(body []byte, i int) int {
	for j := i + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(body) - 1
}

func followedByColon(body []byte, i int) bool {
	for ; i < len(body); i++ {
		switch body[i] {
		case ' ', '\t', '\r', '\n':
		case ':':
			return true
		default:
			return false
		}
	}
	return false
}

// unescape returns a quoted JSON string's content; without escapes it is a
// slice of the body.
func unescape(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return raw[1 : len(raw)-1]
	}
	return []byte(s)
}

// pointerOf builds the JSON pointer of name inside the containers of path:
// each object contributes its current member name, each array its index.
func pointerOf(path []frame, names [][]byte, name []byte) string {
	segments := make([]any, 0, len(path)+1)
	for _, f := range path {
		if f.object {
			segments = append(segments, string(names[f.current]))
		} else {
			segments = append(segments, f.index)
		}
	}
	return Pointer(append(segments, string(name))...)
}

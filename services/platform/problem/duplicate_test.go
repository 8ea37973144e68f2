package problem_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/goshop-platform/shop/services/platform/problem"
)

func TestDecodeBytesRefusesRepeatedNames(t *testing.T) {
	for body, want := range map[string]string{
		`{"items":[{"product_id":1,"quantity":1}],"items":[{"product_id":2,"quantity":9}]}`:      "#/items",
		`{"items":[{"product_id":1,"quantity":1,"quantity":5}]}`:                                 "#/items/0/quantity",
		`{"items":[{"product_id":1,"quantity":1},{"quantity":2,"product_id":3,"product_id":4}]}`: "#/items/1/product_id",
		`{"items":[{"product_id":1,"quantity":1}],"ITEMS":[]}`:                                   "#/ITEMS",
		`{"items":[{"product_id":1,"quantity":1}],"\u0069tems":[]}`:                              "#/items",
		`{"extra":{"a":1,"b":{"c":1,"c":2}},"items":[{"product_id":1,"quantity":1}]}`:            "#/extra/b/c",
	} {
		var dst orderRequest
		p := problem.DecodeBytes([]byte(body), &dst)
		if p == nil || p.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Pointer != want {
			t.Errorf("%s: %+v, want 400 at %s", body, p, want)
		}
	}
}

// Past the scanner's fixed buffers (8 levels, 32 names) it works the same.
func TestDuplicateNameInLargeBodies(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":1,`)
	for i := range 40 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"k7":0}}}}}}}}}}`)
	if ptr, dup := problem.DuplicateName([]byte(b.String())); !dup || ptr != "#/a/b/c/d/e/f/g/h/i/k7" {
		t.Fatalf("got %q %v", ptr, dup)
	}
	if ptr, dup := problem.DuplicateName([]byte(strings.Replace(b.String(), `"k7":0`, `"k40":0`, 1))); dup {
		t.Fatalf("distinct names reported at %s", ptr)
	}
}

func TestDecodeBytesKeepsDistinctNames(t *testing.T) {
	for _, body := range []string{
		`{"items":[{"product_id":1,"quantity":1},{"product_id":2,"quantity":1}]}`,
		`{"items":[{"product_id":1,"quantity":1}],"extra":{"items":"\"items\":", "x":["items","items"]}}`,
		`{"items":[{"product_id":1,"quantity":1}],"extra":{"a\"b":1,"a\\b":2,"ab":3}}`,
	} {
		var dst orderRequest
		if p := problem.DecodeBytes([]byte(body), &dst); p != nil {
			t.Errorf("%s refused: %+v", body, p)
		}
	}
}

// repeatedName is an independent check for the fuzz target: walk the body
// with encoding/json's tokenizer and report a name seen twice in one object
// (case-insensitively, as encoding/json matches fields).
func repeatedName(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		object bool
		names  map[string]bool
		expect bool // object: the next string token is a name
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return "", false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &level{object: true, names: map[string]bool{}, expect: true})
			case '[':
				stack = append(stack, &level{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].expect = true
				}
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.expect {
			name := strings.ToLower(tok.(string))
			if top.names[name] {
				return name, true
			}
			top.names[name] = true
			top.expect = false
		} else {
			top.expect = true
		}
	}
}

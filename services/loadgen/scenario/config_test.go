package scenario

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseMixAndRate(t *testing.T) {
	m, err := ParseMix(" browse=60, checkout=25,status=10,login=5")
	if err != nil || m.String() != "browse=60,checkout=25,status=10,login=5" || m.total() != 100 {
		t.Fatalf("%v %v", m, err)
	}
	if m.pick(0) != Browse || m.pick(59) != Browse || m.pick(60) != Checkout || m.pick(99) != Login {
		t.Fatal("pick does not follow the weights")
	}
	for in, want := range map[string]string{
		"browse=1,browse=2": "appears twice", "checkout": "not kind=weight", "poll=3": `unknown request kind "poll"`,
		"login=-1": "not a whole number", "status=0": "no kind with a weight above 0",
	} {
		if _, err := ParseMix(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMix(%q) = %v, want %q", in, err, want)
		}
	}
	for in, want := range map[string]time.Duration{"200/s": time.Second, "200": time.Second, "3000/1m": time.Minute, "5/100ms": 100 * time.Millisecond} {
		if r, err := ParseRate(in); err != nil || r.Per != want || r.Freq <= 0 {
			t.Errorf("ParseRate(%q) = %+v, %v", in, r, err)
		}
	}
	for _, in := range []string{"", "fast", "-5/s", "0", "10/", "10/-1s", "10/parsec"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
}

// Orders have 1..MaxLines distinct lines; with HotFraction 1 every order
// holds the hot product, with 0 it appears only as often as any other.
func TestOrderBodies(t *testing.T) {
	cfg := Defaults()
	cfg.HotFraction, cfg.HotProduct = 1, 7
	tg := newTargeter(cfg, nil, []int64{1, 2, 3, 4, 5, 6, 7, 8})
	lines := map[int]bool{}
	for range 500 {
		var body struct{ Items []orderLine }
		if err := json.Unmarshal(tg.orderBody(), &body); err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, l := range body.Items {
			if seen[l.ProductID] || l.Quantity < 1 || l.Quantity > 2 {
				t.Fatalf("bad order %+v", body.Items)
			}
			seen[l.ProductID] = true
		}
		if !seen[7] || len(body.Items) < 1 || len(body.Items) > 5 {
			t.Fatalf("order without the hot product or with %d lines: %+v", len(body.Items), body.Items)
		}
		lines[len(body.Items)] = true
	}
	if !lines[1] {
		t.Fatal("no single-line order in 500")
	}
	if k, n := tagOf("http://x/api/v1/orders?limit=10#status/12"); k != Status || n != 12 {
		t.Fatalf("tagOf = %s %d", k, n)
	}
}

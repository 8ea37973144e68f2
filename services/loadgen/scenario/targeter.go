package scenario

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// targeter builds the next request of the mix. vegeta calls it from many
// workers at once, so it only reads shared state under the customers' locks.
//
// Each target URL carries "#<kind>/<customer>" as its fragment: HTTP
// clients never send the fragment, and vegeta hands the URL back in the
// Result, which is how the result loop knows what a response was for
// without a shared table.
type targeter struct {
	cfg       Config
	customers []*customer
	products  []int64
	hot       int64
	pages     int
	run       string
	seq       atomic.Uint64
}

func newTargeter(cfg Config, customers []*customer, products []int64) *targeter {
	t := &targeter{cfg: cfg, customers: customers, products: products, run: randomHex(6)}
	t.hot = cfg.HotProduct
	if t.hot == 0 && len(products) > 0 {
		t.hot = products[0]
	}
	t.pages = max(1, (len(products)+cfg.BrowseLimit-1)/cfg.BrowseLimit)
	return t
}

func (t *targeter) next(tgt *vegeta.Target) error {
	kind := t.cfg.Mix.pick(rand.IntN(t.cfg.Mix.total()))
	if kind == Browse {
		tgt.Method = http.MethodGet
		tgt.URL = fmt.Sprintf("%s/items/products?filter[active][_eq]=true&limit=%d&page=%d&fields=%s#%s/0",
			t.cfg.DirectusURL, t.cfg.BrowseLimit, 1+rand.IntN(t.pages), browseFields, Browse)
		return nil
	}
	n := rand.IntN(len(t.customers))
	c := t.customers[n]
	tag := fmt.Sprintf("#%s/%d", kind, n)
	switch kind {
	case Login:
		body, _ := json.Marshal(map[string]string{"email": c.Email, "password": c.Password})
		*tgt = vegeta.Target{Method: http.MethodPost, URL: t.cfg.APIURL + "/api/v1/auth/login" + tag, Body: body,
			Header: http.Header{"Content-Type": {"application/json"}}}
	case Checkout:
		*tgt = vegeta.Target{Method: http.MethodPost, URL: t.cfg.APIURL + "/api/v1/orders" + tag, Body: t.orderBody(),
			Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {c.bearer()},
				"Idempotency-Key": {fmt.Sprintf("loadgen-%s-%d", t.run, t.seq.Add(1))}}}
	case Status:
		path := "/api/v1/orders?limit=10" // the order list until the customer has an order of its own
		if id := c.order(rand.IntN(recentOrders)); id != "" {
			path = "/api/v1/orders/" + id
		}
		*tgt = vegeta.Target{Method: http.MethodGet, URL: t.cfg.APIURL + path + tag,
			Header: http.Header{"Authorization": {c.bearer()}}}
	}
	return nil
}

// browseFields are what a storefront product card shows.
const browseFields = "id,sku,name,price,currency,image_url,stock"

type orderLine struct {
	ProductID int64 `json:"product_id"`
	Quantity  int   `json:"quantity"`
}

// orderBody draws 1..MaxLines distinct products; each line is the hot
// product with probability HotFraction, else uniform over the catalogue.
func (t *targeter) orderBody() []byte {
	lines := 1 + rand.IntN(min(t.cfg.MaxLines, len(t.products)))
	seen := make(map[int64]bool, lines)
	items := make([]orderLine, 0, lines)
	for tries := 0; len(items) < lines && tries < 4*lines; tries++ {
		id := t.products[rand.IntN(len(t.products))]
		if rand.Float64() < t.cfg.HotFraction {
			id = t.hot
		}
		if !seen[id] {
			seen[id] = true
			items = append(items, orderLine{ProductID: id, Quantity: 1 + rand.IntN(2)})
		}
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	return b
}

// tagOf reads the kind and customer index back from a target URL.
func tagOf(url string) (Kind, int) {
	_, frag, ok := strings.Cut(url, "#")
	if !ok {
		return "", 0
	}
	kind, n, _ := strings.Cut(frag, "/")
	i, _ := strconv.Atoi(n)
	return Kind(kind), i
}

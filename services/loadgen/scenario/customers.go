package scenario

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// recentOrders is how many of a customer's orders the status kind picks from.
const recentOrders = 8

// customer is one logged-in account. The targeter reads its token and
// orders; the result loop replaces the token after a login and adds the
// orders the customer placed.
type customer struct {
	Account
	mu     sync.Mutex
	token  string
	orders []string
}

func (c *customer) bearer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "Bearer " + c.token
}

func (c *customer) setToken(t string) {
	c.mu.Lock()
	c.token = t
	c.mu.Unlock()
}

func (c *customer) addOrder(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.orders) == recentOrders {
		c.orders = c.orders[1:]
	}
	c.orders = append(c.orders, id)
}

// order returns one of the customer's recent orders, or "" before the first.
func (c *customer) order(n int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.orders) == 0 {
		return ""
	}
	return c.orders[n%len(c.orders)]
}

// api is the small JSON client the setup and the followers use.
type api struct {
	base   string
	client *http.Client
}

func (a api) call(ctx context.Context, method, path, bearer string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, err
}

// RegisterCustomers creates n new customer accounts on the api at apiURL
// and returns their credentials. The api limits registrations per client
// address (API_RATE_LIMIT_REGISTER_PER_IP, default 10 an hour): the error
// for a refusal says so.
func RegisterCustomers(ctx context.Context, apiURL string, n int) ([]Account, error) {
	return newAPI(apiURL, 0).register(ctx, n)
}

func (a api) register(ctx context.Context, n int) ([]Account, error) {
	run := randomHex(4)
	accounts := make([]Account, n)
	for i := range accounts {
		accounts[i] = Account{Email: fmt.Sprintf("loadgen-%s-%d@loadgen.example", run, i+1), Password: randomHex(12)}
		code, body, err := a.call(ctx, http.MethodPost, "/api/v1/auth/register", "",
			map[string]string{"email": accounts[i].Email, "password": accounts[i].Password})
		switch {
		case err != nil:
			return nil, fmt.Errorf("register customer %d of %d: %w", i+1, n, err)
		case code == http.StatusTooManyRequests:
			return nil, fmt.Errorf("register customer %d of %d: 429 Too Many Requests: the api limits registrations per "+
				"client address; raise API_RATE_LIMIT_REGISTER_PER_IP on the api (default 10 per hour), or log in "+
				"existing customers with --users-file", i+1, n)
		case code != http.StatusCreated:
			return nil, fmt.Errorf("register customer %d of %d: %d %s", i+1, n, code, body)
		}
	}
	return accounts, nil
}

// login logs every account in, a few at a time.
func (a api) login(ctx context.Context, accounts []Account) ([]*customer, error) {
	out := make([]*customer, len(accounts))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, acc := range accounts {
		g.Go(func() error {
			code, body, err := a.call(ctx, http.MethodPost, "/api/v1/auth/login", "",
				map[string]string{"email": acc.Email, "password": acc.Password})
			switch {
			case err != nil:
				return fmt.Errorf("log in %s: %w", acc.Email, err)
			case code == http.StatusTooManyRequests:
				return fmt.Errorf("log in %s: 429 Too Many Requests: the api limits login attempts; raise "+
					"API_RATE_LIMIT_LOGIN_PER_IP (default 30 a minute) and API_RATE_LIMIT_LOGIN_PER_ACCOUNT (default 5) "+
					"on the api, or use fewer customers", acc.Email)
			case code == http.StatusUnauthorized:
				return fmt.Errorf("log in %s: wrong email or password", acc.Email)
			case code != http.StatusOK:
				return fmt.Errorf("log in %s: %d %s", acc.Email, code, body)
			}
			token, err := accessToken(body)
			if err != nil {
				return fmt.Errorf("log in %s: %w", acc.Email, err)
			}
			out[i] = &customer{Account: acc, token: token}
			return nil
		})
	}
	return out, g.Wait()
}

func accessToken(body []byte) (string, error) {
	var s struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.AccessToken == "" {
		return "", fmt.Errorf("no access_token in the login answer %.200s", body)
	}
	return s.AccessToken, nil
}

// catalogue lists the ids of every active product (up to 10,000).
func (a api) catalogue(ctx context.Context) ([]int64, error) {
	var ids []int64
	for offset := 0; offset < 10000; offset += 100 {
		code, body, err := a.call(ctx, http.MethodGet, fmt.Sprintf("/api/v1/products?active=true&limit=100&offset=%d", offset), "", nil)
		if err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("list products: %d %.200s", code, body)
		}
		var page struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
			Total int `json:"total"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		for _, p := range page.Items {
			ids = append(ids, p.ID)
		}
		if len(page.Items) < 100 || len(ids) >= page.Total {
			break
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("the api at %s has no active products: add some (`api seed-demo`) or name them with --products", a.base)
	}
	return ids, nil
}

// ReadUsersFile reads accounts from a file of "email:password" lines;
// blank lines and lines starting with # are skipped.
func ReadUsersFile(path string) ([]Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Account
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		email, pw, ok := strings.Cut(line, ":")
		if !ok || email == "" || pw == "" {
			return nil, fmt.Errorf("%s:%d: want email:password", path, n)
		}
		out = append(out, Account{Email: email, Password: pw})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no accounts", path)
	}
	return out, nil
}

// WriteUsers writes accounts in the format ReadUsersFile reads.
func WriteUsers(w io.Writer, accounts []Account) error {
	for _, a := range accounts {
		if _, err := fmt.Fprintf(w, "%s:%s\n", a.Email, a.Password); err != nil {
			return err
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

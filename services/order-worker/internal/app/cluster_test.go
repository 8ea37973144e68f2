package app_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestOrderGuaranteesOnRedisCluster runs the worker's guarantees on a
// 3-master/3-replica Redis Cluster with the stream in 8 partitions: three
// worker processes, SIGKILLed repeatedly while orders flow, decide every
// order exactly once without overselling; a poison entry and an order the
// database refuses go to their partition's dead letters, the CLI lists
// them across partitions and replays one; every decision is published.
func TestOrderGuaranteesOnRedisCluster(t *testing.T) {
	cluster := testenv.NewRedisCluster(t, 3)
	s := newClusterShop(t, schematest.MigratedDatabase(t), cluster, 8, 300, 300, 300, 300, 300)
	s.addUsers(11) // 16 users: most partitions get orders
	statuses := s.watchStatuses()
	poisonID, orphan := s.addPoisonAndOrphan()
	workers := []*proc{s.startWorker(), s.startWorker(), s.startWorker()}
	done := make(chan []uuid.UUID, 1)
	go func() { done <- s.enqueue(1500, 4, 10*time.Millisecond) }()
	r := rand.New(rand.NewPCG(3, 3))
	kills := 0
	var sent []uuid.UUID
	for sent == nil {
		select {
		case sent = <-done:
		case <-time.After(500 * time.Millisecond):
			if kills == 8 {
				// Enough crashes: on a slow machine a kill every 500 ms can
				// catch one entry in five successive workers, and its sixth
				// delivery rightly dead-letters it.
				continue
			}
			i := r.IntN(len(workers))
			workers[i].kill()
			kills++
			workers[i] = s.startWorker()
		}
	}
	s.waitDecided(sent, 3*time.Minute)
	confirmed, failed := s.checkInvariants(append(sent, poisonID))
	t.Logf("%d kills; %d orders over %d partitions: %d confirmed, %d failed", kills, len(sent), s.partitionsUsed(), confirmed, failed-1)
	if kills < 3 || s.partitionsUsed() < 5 {
		t.Fatalf("the run did not exercise crashes (%d kills) or partitions (%d used)", kills, s.partitionsUsed())
	}
	eventually(t, 15*time.Second, "every decision published and nothing pending", func() bool {
		n, err := s.pending()
		return err == nil && n == 0 && statuses.seen(sent) == len(sent)
	})

	list := dlq(t, s, "list")
	if !strings.Contains(list, "2 dead letter(s)") || !strings.Contains(list, orphan.OrderID.String()) || !strings.Contains(list, poisonID.String()) {
		t.Fatalf("dlq list output:\n%s", list)
	}
	if _, err := s.db.Exec(context.Background(), `INSERT INTO users (id, email, password_hash, role) OVERRIDING SYSTEM VALUE VALUES (424242, 'late@x.io', 'x', 'customer')`); err != nil {
		t.Fatal(err)
	}
	dlq(t, s, "replay", deadID(t, list, orphan.OrderID))
	s.waitDecided([]uuid.UUID{orphan.OrderID}, 30*time.Second)
}

// addUsers adds n customers to the shop's users.
func (s *shop) addUsers(n int) {
	s.t.Helper()
	for i := range n {
		var id int64
		if err := s.db.QueryRow(context.Background(), `INSERT INTO users (email, password_hash, role) VALUES ($1, 'x', 'customer') RETURNING id`,
			uuid.NewString()+"@x.io").Scan(&id); err != nil {
			s.t.Fatalf("user %d: %v", i, err)
		}
		s.users = append(s.users, id)
	}
}

// addPoisonAndOrphan enqueues an entry of an unknown schema version (its
// order is recorded failed) and an order of a user that does not exist.
func (s *shop) addPoisonAndOrphan() (uuid.UUID, orderstream.Message) {
	s.t.Helper()
	var product int64
	for id := range s.initial {
		product = id
	}
	future := orderstream.Message{OrderID: orderstream.NewOrderID(s.users[0]), UserID: s.users[0],
		Items: []orderstream.Item{{ProductID: product, Quantity: 1}}, AcceptedAt: time.Now().UTC()}
	fields := future.Encode()
	fields["v"] = "99"
	orphan := orderstream.Message{OrderID: orderstream.NewOrderID(424242), UserID: 424242,
		Items: []orderstream.Item{{ProductID: product, Quantity: 1}}, AcceptedAt: time.Now().UTC()}
	if err := s.add(future.UserID, fields); err != nil {
		s.t.Fatal(err)
	}
	if err := s.add(orphan.UserID, orphan.Encode()); err != nil {
		s.t.Fatal(err)
	}
	return future.OrderID, orphan
}

// partitionsUsed counts the partitions whose stream got entries.
func (s *shop) partitionsUsed() int {
	n := 0
	for _, p := range s.keys.All() {
		if groups, err := s.rdb.XInfoGroups(context.Background(), s.keys.Stream(p)).Result(); err == nil && len(groups) > 0 && groups[0].EntriesRead > 0 {
			n++
		}
	}
	return n
}

// deadID finds the dead-letter id of order in `order-worker dlq list` output.
func deadID(t *testing.T, list string, order uuid.UUID) string {
	t.Helper()
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, order.String()) {
			return strings.Fields(line)[0]
		}
	}
	t.Fatalf("order %s not in the dead letters:\n%s", order, list)
	return ""
}

// statusWatch collects the order ids of published status events.
type statusWatch struct {
	mu  sync.Mutex
	ids map[uuid.UUID]bool
}

func (s *shop) watchStatuses() *statusWatch {
	s.t.Helper()
	sub := s.rdb.Subscribe(context.Background(), orderstream.StatusChannel)
	if _, err := sub.Receive(context.Background()); err != nil {
		s.t.Fatalf("subscribe to %s: %v", orderstream.StatusChannel, err)
	}
	w := &statusWatch{ids: map[uuid.UUID]bool{}}
	go w.collect(sub.Channel(redis.WithChannelSize(10000)))
	s.t.Cleanup(func() { sub.Close() })
	return w
}

func (w *statusWatch) collect(ch <-chan *redis.Message) {
	for m := range ch {
		if e, err := orderstream.DecodeStatus(m.Payload); err == nil {
			w.mu.Lock()
			w.ids[e.OrderID] = true
			w.mu.Unlock()
		}
	}
}

func (w *statusWatch) seen(ids []uuid.UUID) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, id := range ids {
		if w.ids[id] {
			n++
		}
	}
	return n
}

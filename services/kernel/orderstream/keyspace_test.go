package orderstream_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/goshop-platform/shop/services/kernel/orderstream"
)

func TestSlotIsRedisClusters(t *testing.T) {
	// Values redis-server 7.0 answers to CLUSTER KEYSLOT.
	for key, want := range map[string]int{"123456789": 0x31C3 % 16384, "foo": 12182, "{user1000}.following": 3443, "foo{}{bar}": 8363, "{}x": 10595, "{a}{b}": 15495} {
		if got := orderstream.Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestSingleKeyspaceKeepsTheHistoricalNames(t *testing.T) {
	k := orderstream.Single
	id := uuid.MustParse("7c9e6679-7425-40de-944b-e07fc1f90ae7")
	got := []string{k.Stream(0), k.DeadLetters(0), k.PendingKey(0, id), k.UserPendingKey(0, 42), k.UserKey("ratelimit:orders:user", 0, 42)}
	want := []string{"new_orders", "new_orders:dead", "order:pending:" + id.String(), "orders:pending:user:42", "ratelimit:orders:user:42"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("names %v, want %v", got, want)
	}
}

func TestPartitionsKeepAnOrdersKeysInOneSlot(t *testing.T) {
	for n := 1; n <= orderstream.MaxPartitions; n *= 2 {
		k := orderstream.NewKeyspace(n, true)
		slots := map[int]bool{}
		for uid := int64(1); uid <= 2000; uid++ {
			id := orderstream.NewOrderID(uid)
			p := k.OfUser(uid)
			if k.OfOrder(id) != p {
				t.Fatalf("%d partitions: order %s of user %d in partition %d, user in %d", n, id, uid, k.OfOrder(id), p)
			}
			keys := []string{k.Stream(p), k.DeadLetters(p), k.PendingKey(p, id), k.UserPendingKey(p, uid), k.UserKey("order:idem", p, uid)}
			for _, key := range keys[1:] {
				if orderstream.Slot(key) != orderstream.Slot(keys[0]) {
					t.Fatalf("%d partitions: %s and %s hash to different slots", n, key, keys[0])
				}
			}
			slots[orderstream.Slot(keys[0])] = true
		}
		if want := min(n, 2000); len(slots) != want {
			t.Errorf("%d partitions: users spread over %d slots, want %d", n, len(slots), want)
		}
	}
}

func TestPartitionTagsAreEvenlySpaced(t *testing.T) {
	k := orderstream.NewKeyspace(4, true)
	for p, lo := range []int{0, 4096, 8192, 12288} {
		if s := orderstream.Slot(k.Stream(p)); s < lo || s >= lo+64 {
			t.Errorf("partition %d of 4 (%s) in slot %d, want %d..%d", p, k.Stream(p), s, lo, lo+63)
		}
	}
	if id := uuid.New(); orderstream.NewKeyspace(1, true).Stream(0) == orderstream.Single.Stream(0) || id == uuid.Nil {
		t.Error("a cluster keyspace with one partition must still tag its keys")
	}
}

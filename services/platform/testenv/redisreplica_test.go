package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// A replica copies the primary's writes and acknowledges them (WAIT);
// stopped or paused, it acknowledges nothing, and started again it catches
// up with what it missed.
func TestRedisReplicaAcknowledgesStopsAndCatchesUp(t *testing.T) {
	ctx := context.Background()
	primary := testenv.NewRedisServer(t)
	replica := testenv.NewRedisReplica(t, primary)
	p, r := redisClient(t, primary.URL()), redisClient(t, replica.URL())

	set := func(v string) {
		t.Helper()
		if err := p.Set(ctx, "k", v, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	set("1")
	if n := p.Wait(ctx, 1, 2*time.Second).Val(); n != 1 {
		t.Fatalf("WAIT with the replica up: %d replicas acknowledged, want 1", n)
	}
	if v := r.Get(ctx, "k").Val(); v != "1" {
		t.Fatalf("replica has k=%q, want 1", v)
	}

	replica.Stop(t)
	set("2")
	if n := p.Wait(ctx, 1, 200*time.Millisecond).Val(); n != 0 {
		t.Fatalf("WAIT with the replica stopped: %d replicas acknowledged, want 0", n)
	}
	replica.Start(t)
	if v := r.Get(ctx, "k").Val(); v != "2" {
		t.Fatalf("restarted replica has k=%q, want 2", v)
	}

	replica.Pause(t)
	set("3")
	if n := p.Wait(ctx, 1, 200*time.Millisecond).Val(); n != 0 {
		t.Fatalf("WAIT with the replica paused: %d replicas acknowledged, want 0", n)
	}
	replica.Resume(t)
	if n := p.Wait(ctx, 1, 2*time.Second).Val(); n != 1 {
		t.Fatalf("WAIT after resuming the replica: %d replicas acknowledged, want 1", n)
	}
	if v := r.Get(ctx, "k").Val(); v != "3" {
		t.Fatalf("resumed replica has k=%q, want 3", v)
	}
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

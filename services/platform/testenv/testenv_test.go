package testenv_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// prepareThings makes a database with one table, as a service's migrations
// would.
func prepareThings(ctx context.Context, url string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `CREATE TABLE things (name text PRIMARY KEY)`)
	return err
}

func TestTemplateDatabasesAreFreshAndSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := testenv.TemplateDatabase(t, "things", prepareThings), testenv.TemplateDatabase(t, "things", prepareThings)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, `INSERT INTO things VALUES ('a')`); err != nil {
		t.Fatalf("table missing in the prepared database: %v", err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database not fresh: count=%d err=%v", n, err)
	}
}

func TestRedisDatabasesAreClean(t *testing.T) {
	ctx := context.Background()
	u1 := testenv.Redis(t)
	o, _ := redis.ParseURL(u1)
	c := redis.NewClient(o)
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	u2 := testenv.Redis(t)
	o2, _ := redis.ParseURL(u2)
	c2 := redis.NewClient(o2)
	defer c2.Close()
	if n, _ := c2.DBSize(ctx).Result(); n != 0 || u1 == u2 {
		t.Fatalf("second redis db not clean/separate: size=%d u1=%s u2=%s", n, u1, u2)
	}
}

func TestDedicatedRedisSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	s := testenv.NewRedisServer(t)
	o, _ := redis.ParseURL(s.URL())
	c := redis.NewClient(o)
	defer c.Close()
	if err := c.Set(ctx, "kept", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "BGREWRITEAOF").Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping succeeded while the server was stopped")
	}
	s.Start(t)
	if v, err := c.Get(ctx, "kept").Result(); err != nil || v != "yes" {
		t.Fatalf("after restart got %q, %v; want the AOF to keep the key", v, err)
	}
}

func TestDedicatedPostgresSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	s := testenv.NewPostgresServer(t, prepareThings)
	c, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO things VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	s.Stop(t)
	if _, err := pgx.Connect(ctx, s.URL()); err == nil {
		t.Fatal("connected while the server was stopped")
	}
	s.Start(t)
	c, err = pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after restart: %d rows, %v", n, err)
	}
}

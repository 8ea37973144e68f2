package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/goshop-platform/shop/services/platform/testenv"
)

// TestPostgresPairFailsOver: the multi-host URL reaches the primary, the
// standby holds its commits and refuses writes; with the primary crashed no
// host accepts writes until the standby is promoted, then the same URL
// reaches it with every commit of the old primary.
func TestPostgresPairFailsOver(t *testing.T) {
	ctx := context.Background()
	pair := testenv.NewPostgresPair(t, prepareThings, true)
	connect := func(url string) (*pgx.Conn, error) {
		c, err := pgx.Connect(ctx, url)
		if err == nil {
			t.Cleanup(func() { c.Close(ctx) })
		}
		return c, err
	}
	c, err := connect(pair.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO things VALUES ('before')`); err != nil {
		t.Fatalf("write through the multi-host URL: %v", err)
	}
	if got := c.PgConn().Conn().RemoteAddr().String(); got != hostOf(t, pair.PrimaryURL()) {
		t.Fatalf("multi-host URL reached %s, want the primary %s", got, hostOf(t, pair.PrimaryURL()))
	}
	pair.WaitReplayed(t)
	sb, err := connect(pair.StandbyURL())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := sb.QueryRow(ctx, `SELECT count(*) FROM things WHERE name = 'before'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("standby holds %d copies of the primary's row (err %v), want 1", n, err)
	}
	var pgErr *pgconn.PgError
	if _, err := sb.Exec(ctx, `INSERT INTO things VALUES ('on standby')`); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write on the standby: %v, want SQLSTATE 25006", err)
	}

	pair.StopPrimary(t)
	if _, err := connect(pair.URL()); !errors.Is(err, pgconn.ErrReadOnlyConnection) {
		t.Fatalf("connect with the primary down and the standby not promoted: %v, want a read-only refusal", err)
	}
	pair.Promote(t)
	c, err = connect(pair.URL())
	if err != nil {
		t.Fatalf("connect after the promotion: %v", err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO things VALUES ('after')`); err != nil {
		t.Fatalf("write on the promoted standby: %v", err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM things`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("promoted standby holds %d rows (err %v), want 2", n, err)
	}
}

func hostOf(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
}

// TestPostgresPairPartitionLosesAsyncCommits: cut off from its standby, an
// asynchronous primary still acknowledges commits; killed, it takes them
// along, and the promoted standby does not have them.
func TestPostgresPairPartitionLosesAsyncCommits(t *testing.T) {
	ctx := context.Background()
	pair := testenv.NewPostgresPair(t, prepareThings, false)
	c, err := pgx.Connect(ctx, pair.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `INSERT INTO things VALUES ('replicated')`); err != nil {
		t.Fatal(err)
	}
	pair.WaitReplayed(t)
	pair.PartitionPrimary(t)
	if _, err := c.Exec(ctx, `INSERT INTO things VALUES ('acknowledged, then lost')`); err != nil {
		t.Fatalf("commit on the partitioned asynchronous primary: %v", err)
	}
	pair.KillPrimary(t)
	pair.Promote(t)
	c2, err := pgx.Connect(ctx, pair.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	rows, err := c2.Query(ctx, `SELECT name FROM things ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) != 1 || names[0] != "replicated" {
		t.Fatalf("promoted standby holds %q (err %v), want only the row replicated before the partition", names, err)
	}
}

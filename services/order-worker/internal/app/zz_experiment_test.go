package app_test

// TEMPORARY investigation harness (not to be kept).

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/goshop-platform/shop/services/kernel/schema/schematest"
	"github.com/goshop-platform/shop/services/platform/testenv"
)

func BenchmarkZZExperiment(b *testing.B) {
	if os.Getenv("DRAIN_EXP") == "" {
		b.Skip()
	}
	orders, _ := strconv.Atoi(os.Getenv("DRAIN_ORDERS"))
	for _, spec := range strings.Split(os.Getenv("DRAIN_EXP"), ";") {
		parts := strings.Fields(spec)
		n, _ := strconv.Atoi(parts[0])
		extra := parts[1:]
		cluster := false
		if len(extra) > 0 && extra[0] == "cluster" {
			cluster, extra = true, extra[1:]
		}
		var s *shop
		if cluster {
			c := testenv.NewRedisCluster(b, 3)
			s = newClusterShop(b, schematest.MigratedDatabase(b), c, 8, drainCatalogue()...)
		} else {
			s = newShop(b, schematest.MigratedDatabase(b), testenv.Redis(b), drainCatalogue()...)
		}
		s.addUsers(drainUsers)
		if len(extra) > 0 && extra[0] == "nonotify" {
			extra = extra[1:]
			if _, err := s.db.Exec(context.Background(), "DROP TRIGGER catalog_outbox_notify ON catalog_outbox"); err != nil {
				b.Fatal(err)
			}
		}
		var dbname string
		_ = s.db.QueryRow(context.Background(), "SELECT current_database()").Scan(&dbname)
		pgss := os.Getenv("PGSS_URL")
		var conn *pgx.Conn
		if pgss != "" {
			conn, _ = pgx.Connect(context.Background(), pgss)
			conn.Exec(context.Background(), "SELECT pg_stat_statements_reset()")
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		events := map[string]int{}
		samples := 0
		if conn != nil {
			mon, _ := pgx.Connect(context.Background(), pgss)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					case <-time.After(37 * time.Millisecond):
					}
					rows, err := mon.Query(context.Background(), `SELECT state || ':' || coalesce(wait_event_type,'-') || ':' || coalesce(wait_event,'-') || ':' || left(regexp_replace(query, '\s+', ' ', 'g'), 40), count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'order-worker' GROUP BY 1`, dbname)
					if err != nil {
						continue
					}
					samples++
					for rows.Next() {
						var k string
						var c int
						rows.Scan(&k, &c)
						events[k] += c
					}
					rows.Close()
				}
			}()
		}
		d := s.drain(orders, n, extra...)
		close(stop)
		wg.Wait()
		label := fmt.Sprintf("[%s] ", spec)
		fmt.Printf("%s%d orders in %.2fs = %.0f/s; CPU ms/order worker %.3f pg %.3f redis %.3f total %.3f; busy %.0f%%; orders/tx %.2f; all tx/1k %.0f; rowlock %.1f%% otherlock %.1f%% otherwait %.1f%% idleintx %.1f%% oncpu %.1f%%; claimed %.0f; cores used by us %.2f\n",
			label, d.orders, d.took.Seconds(), d.rate(), d.per1k(d.workerCPU), d.per1k(d.postgresCPU), d.per1k(d.redisCPU),
			d.per1k(d.workerCPU+d.postgresCPU+d.redisCPU), d.busy, d.perTransaction, d.per1k(d.transactions),
			d.waits.share(d.waits.rowLock), d.waits.share(d.waits.otherLock), d.waits.share(d.waits.otherWait), d.waits.share(d.waits.inTransaction), d.waits.share(d.waits.onCPU), d.claimed,
			(d.workerCPU+d.postgresCPU+d.redisCPU)/d.took.Seconds())
		if conn != nil {
			rows, _ := conn.Query(context.Background(), `SELECT calls, round(total_exec_time::numeric, 0), round((total_exec_time/calls)::numeric, 3), rows, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
				FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY total_exec_time DESC LIMIT 16`, dbname)
			for rows.Next() {
				var calls, rws int64
				var tot, mean float64
				var q string
				rows.Scan(&calls, &tot, &mean, &rws, &q)
				fmt.Printf("%s  pgss %7d calls %7.0f ms %7.3f ms/call %8d rows  %s\n", label, calls, tot, mean, rws, q)
			}
			rows.Close()
			type kv struct {
				k string
				v int
			}
			var top []kv
			for k, v := range events {
				top = append(top, kv{k, v})
			}
			for i := range top {
				for j := i + 1; j < len(top); j++ {
					if top[j].v > top[i].v {
						top[i], top[j] = top[j], top[i]
					}
				}
			}
			for i, e := range top {
				if i > 18 {
					break
				}
				fmt.Printf("%s  wait %6.2f  %s\n", label, float64(e.v)/float64(samples), e.k)
			}
			conn.Close(context.Background())
		}
	}
}

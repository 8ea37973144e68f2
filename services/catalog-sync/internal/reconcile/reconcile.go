// Package reconcile makes Directus equal to the Postgres catalogue by
// comparing both page by page in id order and fixing every difference with
// Directus's batch endpoints: products missing in Directus are created,
// items that differ in any field are overwritten, items whose id is not in
// Postgres are deleted. It is the safety net behind the relay (outages,
// dead letters, people editing Directus by hand).
package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/goshop-platform/shop/services/catalog-sync/internal/directus"
	"github.com/goshop-platform/shop/services/catalog-sync/internal/relay"
	"github.com/goshop-platform/shop/services/kernel/catalogevent"
)

// Target is the part of the Directus client reconcile uses.
type Target interface {
	List(ctx context.Context, afterID, maxID int64, limit int) ([]directus.Item, error)
	CreateMany(ctx context.Context, items []directus.Item) error
	UpdateMany(ctx context.Context, items []directus.Item) error
	DeleteMany(ctx context.Context, ids []int64) error
}

// Result counts what one reconcile found; every difference found is fixed
// when Run returns no error.
type Result struct {
	Products int // rows in Postgres
	Missing  int // created in Directus
	Stale    int // overwritten in Directus (older version or edited)
	Extra    int // deleted from Directus
	Duration time.Duration
}

// Differences is Missing+Stale+Extra.
func (r Result) Differences() int { return r.Missing + r.Stale + r.Extra }

// Metrics are the reconcile's Prometheus series.
type Metrics struct {
	Differences *prometheus.CounterVec
	LastSuccess prometheus.Gauge
	Duration    prometheus.Histogram
}

// NewMetrics registers the reconcile's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Differences: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_catalog_reconcile_differences_total",
			Help: "Differences between Postgres and Directus found and fixed by the reconcile, by kind (missing, stale, extra).",
		}, []string{"kind"}),
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shop_catalog_reconcile_last_success_timestamp_seconds",
			Help: "Unix time the last full reconcile finished without error.",
		}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shop_catalog_reconcile_duration_seconds",
			Help:    "Duration of full reconciles that finished without error.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
	}
	for _, k := range []string{"missing", "stale", "extra"} {
		m.Differences.WithLabelValues(k)
	}
	reg.MustRegister(m.Differences, m.LastSuccess, m.Duration)
	return m
}

// Reconciler compares and fixes.
type Reconciler struct {
	DB       *pgxpool.Pool
	Target   Target
	PageSize int
	Metrics  *Metrics // may be nil
	Log      *slog.Logger
}

var tracer = otel.Tracer("github.com/goshop-platform/shop/services/catalog-sync/internal/reconcile")

// Run does one full reconcile, traced as one span with the database reads
// and Directus batch calls below it.
func (r *Reconciler) Run(ctx context.Context) (res Result, err error) {
	ctx, span := tracer.Start(ctx, "catalog-sync reconcile")
	defer func() {
		span.SetAttributes(attribute.Int("reconcile.products", res.Products), attribute.Int("reconcile.missing", res.Missing),
			attribute.Int("reconcile.stale", res.Stale), attribute.Int("reconcile.extra", res.Extra))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "reconcile failed")
		}
		span.End()
	}()
	began := time.Now()
	// Start below 0: Directus may hold items with id 0 or negative ids that
	// Postgres never has. The Directus id column is a 32-bit integer, so
	// its minimum is the lowest value a filter may name (only an item with
	// exactly that id would escape the comparison).
	after := int64(math.MinInt32)
	for {
		last, done, err := r.page(ctx, after, &res)
		if err != nil {
			return res, fmt.Errorf("reconcile products after id %d: %w", after, err)
		}
		if done {
			break
		}
		after = last
	}
	res.Duration = time.Since(began)
	if r.Metrics != nil {
		r.Metrics.LastSuccess.SetToCurrentTime()
		r.Metrics.Duration.Observe(res.Duration.Seconds())
	}
	r.Log.Info("reconcile done", "products", res.Products, "missing", res.Missing, "stale", res.Stale,
		"extra", res.Extra, "duration", res.Duration)
	return res, nil
}

// page fixes the id range (after, last], where last is the id of the
// PageSize-th product after `after`, or unbounded on the final page. It
// holds relay.PushLockKey exclusively meanwhile, so no relay pushes between
// reading Postgres and writing Directus, and what it writes is never older
// than what a relay wrote.
func (r *Reconciler) page(ctx context.Context, after int64, res *Result) (last int64, done bool, err error) {
	tx, err := r.DB.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, relay.PushLockKey); err != nil {
		return 0, false, fmt.Errorf("take push lock: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+catalogevent.Columns+` FROM products WHERE id > $1 ORDER BY id LIMIT $2`, after, r.PageSize)
	if err != nil {
		return 0, false, err
	}
	products, err := pgx.CollectRows(rows, func(rw pgx.CollectableRow) (catalogevent.Product, error) { return catalogevent.Scan(rw) })
	if err != nil {
		return 0, false, fmt.Errorf("read products: %w", err)
	}
	done = len(products) < r.PageSize
	var upper int64 // 0: no upper bound, the final page takes every extra item
	if !done {
		upper = products[len(products)-1].ID
	}
	have := map[int64]directus.Item{}
	for cursor := after; ; {
		items, err := r.Target.List(ctx, cursor, upper, r.PageSize)
		if err != nil {
			return 0, false, err
		}
		for _, it := range items {
			have[int64(it.ID)] = it
		}
		if len(items) < r.PageSize {
			break
		}
		cursor = int64(items[len(items)-1].ID)
	}
	var create, update []directus.Item
	for _, p := range products {
		want := directus.ItemFrom(p)
		got, ok := have[p.ID]
		delete(have, p.ID)
		switch {
		case !ok:
			create = append(create, want)
		case !directus.Same(got, want):
			update = append(update, want)
		}
	}
	extra := make([]int64, 0, len(have))
	for id := range have {
		extra = append(extra, id)
	}
	// Deletes first, then updates, then creates: an extra or edited item
	// may hold a sku (unique) that a product of this page needs.
	if err := r.Target.DeleteMany(ctx, extra); err != nil {
		return 0, false, err
	}
	if err := r.Target.UpdateMany(ctx, update); err != nil {
		return 0, false, err
	}
	if err := r.Target.CreateMany(ctx, create); err != nil {
		return 0, false, err
	}
	res.Products += len(products)
	res.Missing += len(create)
	res.Stale += len(update)
	res.Extra += len(extra)
	if r.Metrics != nil {
		r.Metrics.Differences.WithLabelValues("missing").Add(float64(len(create)))
		r.Metrics.Differences.WithLabelValues("stale").Add(float64(len(update)))
		r.Metrics.Differences.WithLabelValues("extra").Add(float64(len(extra)))
	}
	if len(create)+len(update)+len(extra) > 0 {
		r.Log.Info("reconcile fixed differences", "after_id", after, "missing", len(create), "stale", len(update), "extra", len(extra))
	}
	return upper, done, nil
}

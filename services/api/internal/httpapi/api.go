// Package httpapi is the api service's HTTP edge: routes under /api/v1,
// request decoding and validation, authentication and authorization, CORS,
// and the one place where domain errors become problem+json responses.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/goshop-platform/shop/services/api/internal/auth"
	"github.com/goshop-platform/shop/services/api/internal/livestatus"
	"github.com/goshop-platform/shop/services/api/internal/operations"
	"github.com/goshop-platform/shop/services/api/internal/order"
	"github.com/goshop-platform/shop/services/api/internal/product"
	"github.com/goshop-platform/shop/services/api/internal/ratelimit"
	"github.com/goshop-platform/shop/services/kernel/pause"
	"github.com/goshop-platform/shop/services/platform/httpserver"
)

// API holds what the handlers need.
type API struct {
	Log       *slog.Logger
	Auth      *auth.Service
	Products  product.Store
	Intake    *order.Intake
	Orders    order.Reader
	Lifecycle *order.Lifecycle
	Payments  Payments
	// Webhooks is nil unless the stripe provider is configured.
	Webhooks       Webhooks
	LoginPerIP     *ratelimit.Limiter
	LoginPerAcct   *ratelimit.Limiter
	RegisterPerIP  *ratelimit.Limiter
	MaxBodyBytes   int64
	AllowedOrigins []string
	TrustedProxies httpserver.Proxies
	OpenAPIJSON    []byte
	Live           LiveStatus
	// Operations runs the admin console's reads and audited actions.
	Operations *operations.Service
	// IntakePause is the operator's intake switch; nil never pauses.
	IntakePause *pause.Watcher
	// LiveHeartbeat is the interval of keep-alive comments on live status
	// streams (default 15s), below the idle timeouts of proxies.
	LiveHeartbeat time.Duration
	// MaxLiveStreamsPerUser bounds one user's open live status streams per replica.
	MaxLiveStreamsPerUser int
	streamSlots           streamSlots

	ordersAccepted *prometheus.CounterVec
	ordersRejected *prometheus.CounterVec
	liveStreams    prometheus.Gauge
}

// LiveStatus registers a stream's interest in an order (livestatus.Hub).
type LiveStatus interface {
	Listen(ctx context.Context, id uuid.UUID) (*livestatus.Listener, error)
}

// RegisterMetrics adds the api's business metrics to reg.
func (a *API) RegisterMetrics(reg prometheus.Registerer) {
	a.ordersAccepted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_orders_accepted_total", Help: "Orders accepted onto the new_orders stream (replayed: an Idempotency-Key retry).",
	}, []string{"replayed"})
	a.ordersRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_orders_intake_rejected_total", Help: "Order requests refused at intake, by reason.",
	}, []string{"reason"})
	a.liveStreams = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shop_live_status_streams", Help: "Live order status streams (server-sent events) open now.",
	})
	reg.MustRegister(a.ordersAccepted, a.ordersRejected, a.liveStreams)
}

// Mount adds the api's routes to r.
func (a *API) Mount(r chi.Router) {
	r.With(a.cors).Get("/.well-known/jwks.json", a.jwks)
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(a.cors)
		r.NotFound(a.notFound)
		r.MethodNotAllowed(a.methodNotAllowed)
		r.Get("/openapi.json", a.openapi)
		r.Post("/auth/register", a.handle(a.register))
		r.Post("/auth/login", a.handle(a.login))
		r.Post("/auth/refresh", a.handle(a.refresh))
		r.Post("/auth/logout", a.handle(a.logout))
		r.Get("/products", a.handle(a.listProducts))
		r.Get("/products/{id}", a.handle(a.getProduct))
		r.Post("/payments/webhooks/stripe", a.handle(a.stripeWebhook))
		r.Group(func(r chi.Router) {
			r.Use(a.authenticate)
			r.Get("/me", a.handle(a.me))
			r.Post("/auth/logout-everywhere", a.handle(a.logoutEverywhere))
			r.With(a.intakeOpen).Post("/orders", a.handle(a.placeOrder))
			r.Get("/orders", a.handle(a.listOrders))
			r.Get("/orders/{id}", a.handle(a.getOrder))
			r.Get("/orders/{id}/events", a.handle(a.orderEvents))
			r.Post("/orders/{id}/payments", a.handle(a.payOrder))
			r.Post("/orders/{id}/cancel", a.handle(a.cancelOrder))
			r.Post("/orders/{id}/shipments", a.handle(a.shipOrder))
			r.Post("/orders/{id}/delivery", a.handle(a.deliverOrder))
			r.Group(func(r chi.Router) {
				r.Use(requireAdmin)
				r.Post("/products", a.handle(a.createProduct))
				r.Put("/products/{id}", a.handle(a.replaceProduct))
				r.Delete("/products/{id}", a.handle(a.archiveProduct))
				r.Post("/products/{id}/stock-adjustments", a.handle(a.adjustStock))
				r.Route("/admin", a.mountAdmin)
			})
		})
	})
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed)
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) { a.fail(w, r, errRouteNotFound) }
func (a *API) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, errMethodNotAllowed)
}

// handle adapts an error-returning handler; the error becomes problem+json.
func (a *API) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	h := w.Header()
	h["Content-Type"], h["Cache-Control"] = jsonType, noStore // shared, read-only: no allocation per answer
	w.WriteHeader(status)
	if a, ok := v.(jsonAppender); ok {
		_, err := w.Write(append(a.appendJSON(make([]byte, 0, 128)), '\n'))
		return err
	}
	return json.NewEncoder(w).Encode(v)
}

// jsonAppender is a view on a hot path that writes its own JSON, the same
// bytes encoding/json would (each has a test comparing the two).
type jsonAppender interface{ appendJSON([]byte) []byte }

var (
	jsonType = []string{"application/json"}
	noStore  = []string{"no-store"}
)

func (a *API) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(a.Auth.Tokens().Keys().JWKS())
}

func (a *API) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(a.OpenAPIJSON)))
	_, _ = w.Write(a.OpenAPIJSON)
}

// Package livestack holds the test that proves the shop's observability on a
// running stack: real api, order-worker and catalog-sync processes on
// PostgreSQL, Redis and Directus, scraped by Prometheus and tracing to Jaeger.
// After a short burst of orders and a product write, every query of every
// dashboard panel must return data, and Jaeger must hold the traces that cross
// the Redis stream and the catalogue outbox.
package livestack

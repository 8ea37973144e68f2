// Command order-worker consumes the new_orders stream and decides each
// order (confirmed or failed) in one PostgreSQL transaction. Subcommands:
// serve (default), dlq list, dlq replay, print-config. Run `order-worker help`.
package main

import "github.com/goshop-platform/shop/services/platform/cmdline"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { cmdline.Main("order-worker", run) }

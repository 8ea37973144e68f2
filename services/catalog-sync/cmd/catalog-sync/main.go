// Command catalog-sync keeps the Directus products collection equal to the
// Postgres catalogue: it relays catalog_outbox events and reconciles
// periodically. Subcommands: serve (default), reconcile, ensure-schema,
// print-config. Run `catalog-sync help`.
package main

import "github.com/goshop-platform/shop/services/platform/cmdline"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { cmdline.Main("catalog-sync", run) }

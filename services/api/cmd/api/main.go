// Command api is the shop's public HTTP API: auth, products, order intake
// and order status. Subcommands: serve (default), migrate, create-admin,
// seed-demo, gen-key, print-config. Run `api help` for usage.
package main

import "github.com/goshop-platform/shop/services/platform/cmdline"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { cmdline.Main("api", run) }

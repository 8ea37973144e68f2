// Command storefront serves the shop's single-page application (embedded
// Vue build), its runtime configuration and security headers. Subcommands:
// serve (default), print-config. Run `storefront help`.
package main

import "github.com/goshop-platform/shop/services/platform/cmdline"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { cmdline.Main("storefront", run) }

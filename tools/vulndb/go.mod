// Builds the offline Go vulnerability database that `make vulncheck` hands
// to govulncheck (vuln.go.dev is not reachable from CI machines; the OSV
// reports of golang.org/x/vulndb come through the Go module proxy).
module github.com/goshop-platform/shop/tools/vulndb

go 1.26.8

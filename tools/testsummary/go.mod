// testsummary reads `go test -json` and prints what `go test` prints (the
// output of failing tests, a line per package), plus every skipped test
// with its reason; it fails the run when a test was skipped that is not in
// allowed-skips.txt. Its own module without dependencies, outside go.work.
module github.com/goshop-platform/shop/tools/testsummary

go 1.26

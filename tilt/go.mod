module github.com/goshop-platform/shop/tilt

go 1.26.8

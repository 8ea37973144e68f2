# The shop's images, all built from the one Dockerfile (Docker Buildx Bake):
#
#   docker buildx bake -f docker-bake.hcl                  # all five, tagged $REGISTRY/<name>:$TAG
#   docker buildx bake -f docker-bake.hcl api storefront   # some
#   docker buildx bake -f docker-bake.hcl --print          # the resolved options, without building
#   TAG=1.4.0 VERSION=1.4.0 REVISION=$(git rev-parse HEAD) docker buildx bake -f docker-bake.hcl --push
#   docker buildx bake -f docker-bake.hcl --set '*.platform=linux/arm64'   # another platform
#
# -f: without it bake also reads docker-compose.yml, whose required
# variables (the secrets in .env) stop it. Variables below are overridden by
# environment variables of the same name.
# charts/test reads this file (TestImages): keep to the attributes it knows.

variable "REGISTRY" {
  default = "ghcr.io/goshop-platform/shop"
}

variable "TAG" {
  default = "dev"
}

# The version and commit the binaries report (main.version) and the images
# are labelled with.
variable "VERSION" {
  default = "dev"
}

variable "REVISION" {
  default = "unknown"
}

group "default" {
  targets = ["image"]
}

# One image per service: the Dockerfile target of the same name, its
# SERVICE, the port it listens on (EXPOSE; loadgen serves nothing) and its
# description label.
target "image" {
  name = svc.name
  matrix = {
    svc = [
      {
        name        = "api"
        port        = "8080"
        description = "The shop's public HTTP API: auth, products, order intake and status; also runs the database migrations (api migrate)."
      },
      {
        name        = "order-worker"
        port        = "8081"
        description = "The shop's order processor: consumer group order-worker on the new_orders Redis Stream."
      },
      {
        name        = "catalog-sync"
        port        = "8082"
        description = "Keeps the Directus products collection equal to the shop's PostgreSQL catalogue."
      },
      {
        name        = "storefront"
        port        = "8088"
        description = "The shop's web front: the Vue 3 SPA embedded in a Go server, with its runtime config."
      },
      {
        name        = "loadgen"
        port        = ""
        description = "Realistic shop traffic against a running api and Directus."
      },
    ]
  }
  context    = "."
  dockerfile = "Dockerfile"
  target     = svc.name
  args = {
    SERVICE     = svc.name
    PORT        = svc.port
    DESCRIPTION = svc.description
    VERSION     = VERSION
    REVISION    = REVISION
  }
  tags = ["${REGISTRY}/${svc.name}:${TAG}"]
}

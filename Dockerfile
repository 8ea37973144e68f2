# syntax=docker/dockerfile:1
# The shop's five images from one file: one Go build stage compiles the
# service named by SERVICE into a static binary, and every image is that
# binary on distroless (no shell, no package manager), run by the non-root
# user 65532. docker-bake.hcl lists the images and sets each one's target,
# SERVICE, PORT and DESCRIPTION:
#
#   docker buildx bake -f docker-bake.hcl                  # all five images (make images)
#   docker buildx bake -f docker-bake.hcl api storefront   # some
#   docker buildx bake -f docker-bake.hcl --print          # what it would build, without building
#   docker build --target api --build-arg SERVICE=api --build-arg PORT=8080 .   # without bake
#
# (-f: without it, bake also reads docker-compose.yml, which needs a .env.)
#
# The context is the repository root: a service builds in its own module with
# GOWORK=off (its go.mod replaces the platform and kernel modules with
# ../platform and ../kernel), so an image needs those three modules only, not
# every module of go.work.

ARG GO_IMAGE=golang:1.26.11-bookworm
ARG NODE_IMAGE=node:22.23.3-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
# api, order-worker, catalog-sync, storefront or loadgen: the module
# services/<SERVICE> whose cmd/<SERVICE> the build stage compiles; the same
# as the target's name (docker-bake.hcl, docker-compose.yml and the Tiltfile
# set both, and their tests check that they agree).
ARG SERVICE=none

# The storefront's SPA, as scripts/storefront-web.sh builds it (npm ci from
# the lock file, then vue-tsc + vite build into web/dist). It is the same on
# every platform, so it builds once, on the build machine; only the
# storefront's build reaches this stage, so no other image waits for Node.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS web
WORKDIR /src/services/storefront/web
COPY services/storefront/web/package.json services/storefront/web/package-lock.json ./
# --ignore-scripts: the package.json's allowScripts lets no dependency run
# install scripts (esbuild's only checks its binary).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund --no-update-notifier --ignore-scripts
COPY services/storefront/web/ ./
RUN npm run build

# The Go sources of SERVICE: the platform and kernel modules and the
# service's module.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS go-src
ARG SERVICE
ENV GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
WORKDIR /src
# Dependencies first: this layer stays cached until a go.mod/go.sum changes.
COPY services/platform/go.mod services/platform/go.sum services/platform/
COPY services/kernel/go.mod services/kernel/go.sum services/kernel/
COPY services/${SERVICE}/go.mod services/${SERVICE}/go.sum services/${SERVICE}/
RUN --mount=type=cache,target=/go/pkg/mod \
    cd services/${SERVICE} && go mod download
COPY services/platform/ services/platform/
COPY services/kernel/ services/kernel/
COPY services/${SERVICE}/ services/${SERVICE}/

# What the build starts from, picked by name with SERVICE: the Go sources,
# and for the storefront also the SPA its binary embeds (//go:embed all:dist
# in services/storefront/web).
FROM go-src AS src-api
FROM go-src AS src-order-worker
FROM go-src AS src-catalog-sync
FROM go-src AS src-loadgen
FROM go-src AS src-storefront
COPY --from=web /src/services/storefront/web/dist/ services/storefront/web/dist/
# Without SERVICE: stop and say how to build.
FROM ${GO_IMAGE} AS src-none
RUN echo "no SERVICE: build with docker buildx bake -f docker-bake.hcl, or docker build --target NAME --build-arg SERVICE=NAME" >&2 && exit 1

# The one Go build: a static, stripped binary /out/<SERVICE>, compiled on the
# build machine for the target platform, and the link /out/service to it.
FROM src-${SERVICE} AS build
ARG SERVICE
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    cd services/${SERVICE} && GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/${SERVICE} ./cmd/${SERVICE} && \
    ln -s ${SERVICE} /out/service

# What every image is: the distroless base, the OCI labels, the service's
# binary at /usr/local/bin/<SERVICE> and the non-root user. ENTRYPOINT cannot
# expand a build argument, so it runs the link /usr/local/bin/service, which
# is the same in every image and points at the binary.
FROM ${RUNTIME_IMAGE} AS image
ARG SERVICE
ARG DESCRIPTION
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/goshop-platform/shop
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="goshop ${SERVICE}" \
      org.opencontainers.image.description="${DESCRIPTION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="${LICENSES}"
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/service"]

# The servers: the port they listen on (PORT, from docker-bake.hcl) and the
# default command.
FROM image AS server
ARG PORT
EXPOSE ${PORT}
CMD ["serve"]

# One target per image; docker-bake.hcl builds each with SERVICE set to its
# name, PORT and DESCRIPTION.
FROM server AS api
FROM server AS order-worker
FROM server AS catalog-sync
FROM server AS storefront
FROM image AS loadgen
CMD ["help"]

// Package compose holds the tests of the docker-compose fallback: they load
// ../docker-compose.yml with the compose-spec loader and check it against
// the repository (docs/compose.md, service configuration, the Dockerfile,
// Prometheus, Grafana, n8n and Appsmith files). There is no Docker engine
// where the tests run, so nothing here starts a container. The package also
// holds the check that every relative link of the documentation resolves.
package compose

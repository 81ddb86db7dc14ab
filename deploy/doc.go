// Package deploy holds no code: this module is the deployment's files —
// Grafana's provisioning and dashboard (grafana/), TimescaleDB's
// initialisation (timescaledb/), the Kubernetes manifests (kubernetes/) —
// and the tests that check them, the top-level Dockerfile and
// docker-compose.yml with them, without a Docker engine or a cluster:
//
//   - compose_test.go loads docker-compose.yml with the compose-spec
//     loader and checks what the services expect of each other;
//   - dashboard_test.go runs every SQL query of the dashboard, Grafana's
//     macros and variables expanded as Grafana expands them
//     (grafana_test.go), against a real PostgreSQL holding known samples;
//   - dockerfile_test.go parses the Dockerfile with BuildKit's parser,
//     checks its stages, user and sources against .dockerignore, and
//     builds the programs the way its build stage does;
//   - kubernetes_test.go builds the kustomizations as kubectl apply -k
//     does, decodes every object strictly into the Kubernetes API types
//     and checks references, selectors, images and resources.
//
// It is a module of its own so that the Kubernetes, compose and BuildKit
// libraries these tests need never enter the library's import graph.
// scripts/test.sh runs its tests.
package deploy

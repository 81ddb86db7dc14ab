#!/usr/bin/env bash
# Runs every check and test of rightsize: formatting, vet, staticcheck, the
# race-enabled test suite against a real PostgreSQL and the in-process Kafka
# broker, then the measurement tests on their own (no -race, one package at
# a time, so they measure a quiet machine).
#
# On a Debian machine it installs and starts what it needs: PostgreSQL (if
# nothing answers on 127.0.0.1:5432) and kcat. RIGHTSIZE_TEST_DATABASE_URL
# overrides the database (default: postgres@127.0.0.1:5432/test, trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."

export RIGHTSIZE_TEST_DATABASE_URL="${RIGHTSIZE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"

say() { printf '\n== %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "need root to run: $*" >&2
		return 1
	fi
}

apt_install() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
	if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
	say "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
	if ! command -v pg_ctlcluster >/dev/null; then
		apt_install postgresql
	fi
	local version
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	local hba="/etc/postgresql/$version/main/pg_hba.conf"
	# Tests connect as postgres over TCP without a password, as on the
	# development machines.
	if ! as_root grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
		as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
	fi
	as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main restart
	for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 ||
		psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test"
}

ensure_kcat() {
	command -v kcat >/dev/null && return
	say "installing kcat (an independent Kafka client for the interop tests)"
	apt_install kcat
}

# The live page is tested in a real headless browser: Debian's chromium.
ensure_chromium() {
	command -v chromium >/dev/null && return
	say "installing chromium (the browser the live page's test drives)"
	apt_install chromium
}

# The seed's Python producer (kafka-python) is run against examples/broker.
# Debian's python3-kafka installs for the system's /usr/bin/python3, which
# the test tries after the python3 on the PATH.
ensure_python_kafka() {
	local py
	for py in python3 /usr/bin/python3; do
		command -v "$py" >/dev/null && "$py" -c 'import kafka' 2>/dev/null && return
	done
	say "installing python3-kafka (the seed's Kafka client, for the interop test)"
	apt_install python3-kafka || echo "could not install python3-kafka; the test that runs the seed's Python producer will say so" >&2
}

ensure_postgres
ensure_kcat
ensure_chromium
ensure_python_kafka

say "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

say "go mod tidy -diff"
go mod tidy -diff

say "go vet"
go vet ./...

say "staticcheck"
go tool staticcheck ./...

say "go test -race (measurement tests run next, on their own)"
go test -race -count=1 -skip 'Accuracy' ./...

say "fuzzing every decoder for ${RIGHTSIZE_FUZZTIME:=5s} each"
fuzzlog=$(mktemp)
# Each fuzz target of the module, one at a time (go test -fuzz takes one).
grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . | while IFS=: read -r file line; do
	target=$(echo "$line" | sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/')
	dir=./$(dirname "${file#./}")
	echo "$dir $target"
	if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$RIGHTSIZE_FUZZTIME" "$dir" >"$fuzzlog" 2>&1; then
		cat "$fuzzlog"; exit 1
	fi
done

say "measurement tests (no -race, one package at a time)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! go test -count=1 -p 1 -run 'Accuracy' -v ./... >"$log" 2>&1; then
	cat "$log"; exit 1
fi
# What was measured, and against what:
grep -E '^(--- |\s+\S+_test\.go:[0-9]+:)' "$log" || true

# deploy/ is a Go module of its own, so that the libraries its tests need
# (compose-spec, BuildKit's parser, Kubernetes' API types, kustomize) stay
# out of the library's import graph: tidiness, vet, staticcheck (the
# library's pinned one) and its tests, which check docker-compose.yml, the
# Dockerfile, the Grafana dashboard's SQL (against the PostgreSQL above)
# and the Kubernetes manifests.
say "deploy module (docker-compose.yml, Dockerfile, dashboard SQL, Kubernetes manifests)"
staticcheck=$(go tool -n staticcheck)
(
	cd deploy
	go mod tidy -diff
	go vet ./...
	"$staticcheck" ./...
	go test -race -count=1 ./...
)

say "all checks passed"

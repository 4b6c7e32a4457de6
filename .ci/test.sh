#!/usr/bin/env bash
# Runs every check and test of agentgraph on a fresh machine: starts the local
# Postgres if it is down, then gofmt, go vet, staticcheck and the test suite
# (real Postgres, each test on its own cloned database).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*"; }

# Postgres at 127.0.0.1:5432 with trust auth is what tests talk to
# (TEST_DATABASE_URL overrides it).
if [ -z "${TEST_DATABASE_URL:-}" ] && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  log "starting Postgres"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

# Knowledge search's pgvector mode is tested against real pgvector, and with CI
# set its tests fail rather than skip, so install it when missing. Debian
# bookworm packages none for Postgres 15: build pgvector's C source, which the
# Go module proxy serves (README.md, "Installing pgvector"). A few seconds;
# nothing to do once installed.
PGVECTOR_VERSION=0.8.0
install_pgvector() {
  local pgv pgc dir tmp
  pgv=$(ls /etc/postgresql | head -1)
  pgc=/usr/lib/postgresql/$pgv/bin/pg_config
  if [ -f "$("$pgc" --sharedir)/extension/vector.control" ]; then
    log "pgvector: installed ($(sed -n "s/^default_version = '\(.*\)'/\1/p" "$("$pgc" --sharedir)/extension/vector.control"))"
    return
  fi
  log "pgvector: building $PGVECTOR_VERSION from source for Postgres $pgv"
  if [ ! -f "$("$pgc" --includedir-server)/postgres.h" ] || ! command -v make >/dev/null || ! command -v gcc >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-$pgv" make gcc >/dev/null
  fi
  dir=$(go mod download -json "github.com/pgvector/pgvector@v$PGVECTOR_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  tmp=$(mktemp -d)
  cp -r "$dir/." "$tmp" && chmod -R u+w "$tmp"
  # OPTFLAGS="": no -march=native, so the library runs on any CPU of the architecture.
  make -s -C "$tmp" PG_CONFIG="$pgc" OPTFLAGS="" >/dev/null
  make -s -C "$tmp" install PG_CONFIG="$pgc" >/dev/null
  rm -rf "$tmp"
}
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  install_pgvector
fi

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

log "go vet"
go vet ./...

log "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

log "generated code is up to date"
go run github.com/99designs/gqlgen generate
if ! git diff --quiet -- graph/ 2>/dev/null; then
  echo "graph/ differs from what gqlgen generates: run 'go generate ./...' and commit"; git diff --stat -- graph/; exit 1
fi

# The process-level tests (server_test.go, newcomer_test.go) drive the server
# from Node too: Apollo Client, the graphql-http audit and, through
# playwright-core, Debian's Chromium (playwright downloads no browser here).
log "e2e Node packages"
npm ci --prefix e2e --no-audit --no-fund --loglevel=error >/dev/null
# examples/web (React + Apollo): TestWebExampleInBrowser builds it with Vite
# and serves it with vite preview.
npm ci --prefix examples/web --no-audit --no-fund --loglevel=error >/dev/null
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium for the browser tests"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The playground's assets are committed (go run . needs no Node) and the
# build is reproducible: rebuilding from the locked packages must give the
# same files.
log "playground assets are up to date"
npm ci --prefix web/playground --no-audit --no-fund --loglevel=error >/dev/null
npm run --prefix web/playground --silent build >/dev/null
if [ -n "$(git status --porcelain -- internal/playground/dist 2>/dev/null)" ]; then
  echo "internal/playground/dist differs from what web/playground builds: run 'npm run build --prefix web/playground' and commit"
  git status --short -- internal/playground/dist; exit 1
fi

log "go test"
go test -race -count=1 -timeout 20m ./...

# Fuzz targets, briefly each (their seed corpora under testdata/fuzz also
# run as plain tests above): cursors, tokens, thread ids, input checks, and
# direct execution's scalars against gqlgen's marshalers.
#
# Each budget is a count of executions, sized to about 8 s here, not a
# duration: with -fuzztime=<duration>, Go 1.26's coordinator can report its
# own deadline as a failure ("context deadline exceeded", no crasher written;
# go.dev/issue/75804, fixed in Go 1.27). A count has no deadline to race.
log "fuzz"
for target in ./internal/page:FuzzDecode:350000 ./internal/page:FuzzDecodeText:300000 \
  ./internal/auth:FuzzVerify:80000 ./internal/validate:FuzzThreadID:200000 \
  ./internal/validate:FuzzRequired:150000 ./internal/validate:FuzzID:300000 \
  ./graph:FuzzDirectScalars:40000; do
  IFS=: read -r pkg name count <<<"$target"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime="${count}x" "$pkg"
done

#!/usr/bin/env bash
# The test suite again with every store on PostgreSQL: install Debian's postgresql if it is
# missing (CI runs as root), start a private cluster on 127.0.0.1 in a temp dir, run, stop.
# Prints "SKIPPED" with the reason when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

skip() {
  echo "== ci: PostgreSQL suite SKIPPED: $*"
  exit 0
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

if [ -z "$(pg_bin)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== ci: installing postgresql from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || skip "apt-get update failed"
    apt-get install -y -qq postgresql >/dev/null || skip "apt-get install postgresql failed"
  else
    skip "no PostgreSQL binaries and cannot apt-get install (not root or no apt)"
  fi
fi
BIN=$(pg_bin) || skip "PostgreSQL binaries not found after install"

RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || skip "no 'postgres' user to run the server as"
  RUN_AS=(runuser -u postgres --)
fi

PGDIR=$(mktemp -d /tmp/laoke-ci-pg.XXXXXX)
chmod 755 "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
PORT=$(.venv/bin/python -c 'from laoke.natsserver import free_port; print(free_port())')
cleanup() {
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT

"${RUN_AS[@]}" "$BIN/initdb" -D "$PGDIR/data" -U laoke --auth=trust -E UTF8 >/dev/null
"${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
  -o "-h 127.0.0.1 -p $PORT -k $PGDIR -F -c max_connections=300" start >/dev/null \
  || { cat "$PGDIR/server.log"; skip "the PostgreSQL server did not start"; }
"$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U laoke laoke

echo "== ci: test suite on PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') (port $PORT)"
# Every test that touches a store, a fresh database each (tests/conftest.py); the slow
# process-killing tests (marked fault) run on SQLite only, to keep CI well under 10 minutes.
LAOKE_TEST_POSTGRES_DSN="postgresql://laoke@127.0.0.1:$PORT/laoke" make test ARGS="-q -m 'not fault' \
  tests/intake tests/complaints tests/outreach tests/referrals tests/workshop tests/projections \
  tests/security tests/scale"
echo "== ci: PostgreSQL suite took $((SECONDS - start))s"

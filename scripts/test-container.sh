#!/usr/bin/env bash
# Build the producer's image from its Dockerfile and run docker-compose.yml for real, then check it:
# streams written, health check healthy, the user, `docker stop` within the grace period with exit
# code 0, a restart that continues the run, the image's size. Prints the figures; fails loudly.
#
# No registry is reachable from these machines, so the base images are stand-ins built here
# (debootstrap of Debian bookworm, whose python3 is 3.11, imported with `docker import`) and tagged
# python:3.11-slim and redis:7-alpine, so that the Dockerfile and the compose file stay as they are.
# dockerd runs in a network namespace of its own (a veth pair and NAT to the machine's normal
# route), so the machine's own ports (a Redis on 6379) are never touched; pip inside the build
# reaches PyPI as this machine does (its extra CA certificates are copied into the stand-in).
#
# Everything started here is stopped on exit: compose project, dockerd (and its containerd), the
# namespace, the veth pair, the iptables rules, ip_forward. Images stay cached in $CACHE (outside
# the repository) so that later runs skip the debootstrap; a fresh machine builds them (~5 min).
#
# Says "skipped" (exit 0) with the reason only when dockerd cannot start here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CACHE=${FOOT_TRAFFIC_CONTAINER_CACHE:-/var/cache/foot-traffic-sim-container}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
ID=ftsim$$
NS=$ID
VETH_HOST=${ID}h
VETH_NS=${ID}n
OCTET=$(( ($$ % 200) + 20 ))
NET=10.231.$OCTET
RUN=/run/$ID
SOCK=$RUN/docker.sock
PROJECT=$ID
IMAGE=foot-traffic-sim:latest
SPEED_UP=600            # simulated seconds per wall second: a few events per second at 1,000 a day
LIMIT_MB=150            # the image may weigh at most this much above its base image

say() { echo "test-container: $*" >&2; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
die() { say "FAILED: $*"; exit 1; }
skip() { say "skipped: $*"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip "dockerd cannot start: this script needs root (network namespace, iptables, dockerd)"

# --- what a fresh machine lacks -------------------------------------------------------------------
need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v docker-compose >/dev/null || need_pkgs+=(docker-compose)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v iptables >/dev/null || need_pkgs+=(iptables)
command -v ip >/dev/null || need_pkgs+=(iproute2)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
# Debian's docker client; a newer one on PATH talks to it as well (the API is negotiated).
DOCKER=$(command -v docker)
export DOCKER_HOST=unix://$SOCK COMPOSE_PROJECT_NAME=$PROJECT

# One run at a time per cache: two dockerds must never share a data root.
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -n 9 || { say "waiting for another run of this script (lock $CACHE/lock)"; flock 9; }

# --- cleanup of everything started here -----------------------------------------------------------
IPT_RULES=()
FORWARD_WAS=$(cat /proc/sys/net/ipv4/ip_forward)
cleanup() {
    local rc=$?
    set +e
    if [ -S "$SOCK" ]; then
        docker-compose -f "$ROOT/docker-compose.yml" down -v --remove-orphans >/dev/null 2>&1
        "$DOCKER" container prune -f >/dev/null 2>&1
    fi
    if [ -n "${DOCKERD:-}" ]; then
        local pid=$DOCKERD
        # dockerd is this shell's child (exec'd all the way down), so its pid stays ours until
        # `wait` reaps it: give it 30 s to stop its containerd, then SIGKILL, then reap.
        kill "$pid" 2>/dev/null
        local state
        for _ in $(seq 1 150); do
            state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
            [ -n "$state" ] && [ "$state" != Z ] || break  # gone, or exited and not yet reaped
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    for rule in "${IPT_RULES[@]}"; do
        # shellcheck disable=SC2086
        iptables ${rule/-A/-D} 2>/dev/null
    done
    ip link del "$VETH_HOST" 2>/dev/null
    ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    echo "$FORWARD_WAS" > /proc/sys/net/ipv4/ip_forward
    rm -rf "$RUN"
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ipt() { iptables "$@"; IPT_RULES+=("$*"); }

# --- a network namespace for dockerd: veth pair, NAT out through the machine's normal route -------
ip netns add "$NS"
ip link add "$VETH_HOST" type veth peer name "$VETH_NS"
ip link set "$VETH_NS" netns "$NS"
ip addr add "$NET.1/30" dev "$VETH_HOST"
ip link set "$VETH_HOST" up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip addr add "$NET.2/30" dev "$VETH_NS"
ip netns exec "$NS" ip link set "$VETH_NS" up
ip netns exec "$NS" ip route add default via "$NET.1"
echo 1 > /proc/sys/net/ipv4/ip_forward
ipt -t nat -A POSTROUTING -s "$NET.0/30" ! -o "$VETH_HOST" -j MASQUERADE -m comment --comment "$ID"
ipt -A FORWARD -i "$VETH_HOST" -j ACCEPT -m comment --comment "$ID"
ipt -A FORWARD -o "$VETH_HOST" -m state --state RELATED,ESTABLISHED -j ACCEPT -m comment --comment "$ID"

# --- dockerd inside it ----------------------------------------------------------------------------
# `ip netns exec` would mount a fresh /sys and so hide the cgroup hierarchies dockerd needs: enter
# the network namespace, then in a private mount namespace mount the namespace's sysfs and move
# the cgroup mounts back under it.
in_ns() {  # exec: run in the background, $! is the command's own pid
    exec nsenter --net="/run/netns/$NS" unshare --mount --propagation private sh -c '
        set -e
        mkdir -p "$0/cgroup"
        mount --rbind /sys/fs/cgroup "$0/cgroup"
        mount -t sysfs sysfs /sys
        mount --move "$0/cgroup" /sys/fs/cgroup
        exec "$@"' "$RUN" "$@"
}
mkdir -p "$RUN" "$CACHE"
in_ns dockerd --data-root "$CACHE/docker" --exec-root "$RUN/exec" --pidfile "$RUN/dockerd.pid" \
    -H "$DOCKER_HOST" >"$RUN/dockerd.log" 2>&1 9>&- &  # 9>&-: the lock is not handed down
DOCKERD=$!
for _ in $(seq 1 120); do
    "$DOCKER" info >/dev/null 2>&1 && break
    if ! kill -0 "$DOCKERD" 2>/dev/null; then
        skip "dockerd cannot start here: $(tail -n 3 "$RUN/dockerd.log" | tr '\n' ' ')"
    fi
    sleep 0.5
done
"$DOCKER" info >/dev/null 2>&1 || skip "dockerd did not answer within 60 s: $(tail -n 3 "$RUN/dockerd.log" | tr '\n' ' ')"
say "dockerd $("$DOCKER" version -f '{{.Server.Version}}') in network namespace $NS ($NET.2), data in $CACHE/docker"
# Leftovers of an interrupted earlier run (containers, networks, volumes) go; cached images stay.
"$DOCKER" container prune -f >/dev/null
"$DOCKER" network prune -f >/dev/null
"$DOCKER" volume prune -f >/dev/null

# --- stand-in base images, from debootstrap -------------------------------------------------------
WORK=$(mktemp -d /var/tmp/ftsim-rootfs.XXXXXX)
rootfs() {  # rootfs DIR PACKAGES...: a minbase bookworm with PACKAGES, no service started
    local dir=$1; shift
    local include; include=$(IFS=,; echo "$*")
    mkdir -p "$CACHE/debs"
    ip netns exec "$NS" debootstrap --variant=minbase --foreign --cache-dir="$CACHE/debs" \
        --include="$include" "$SUITE" "$dir" "$MIRROR" >"$dir.log" 2>&1 || { tail -n 20 "$dir.log"; die "debootstrap"; }
    printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
    chmod +x "$dir/usr/sbin/policy-rc.d"
    ip netns exec "$NS" chroot "$dir" /debootstrap/debootstrap --second-stage >>"$dir.log" 2>&1 \
        || { tail -n 20 "$dir.log"; die "debootstrap --second-stage"; }
    rm -f "$dir/usr/sbin/policy-rc.d"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*
}
import_rootfs() {  # import_rootfs DIR TAG CHANGES...
    local dir=$1 tag=$2; shift 2
    local changes=()
    for c in "$@"; do changes+=(--change "$c"); done
    tar -C "$dir" --numeric-owner -c . | "$DOCKER" import "${changes[@]}" - "$tag" >/dev/null
}

if ! "$DOCKER" image inspect python:3.11-slim >/dev/null 2>&1; then
    say "building the stand-in for python:3.11-slim (debootstrap $SUITE: python3 3.11, pip, venv)"
    began=$SECONDS
    d=$WORK/python
    rootfs "$d" python3 python3-pip python3-venv ca-certificates
    ln -sf python3 "$d/usr/bin/python"
    rm -f "$d"/usr/lib/python3.*/EXTERNALLY-MANAGED
    # PyPI is reached through a proxy that re-signs TLS: trust what this machine trusts.
    cp /usr/local/share/ca-certificates/*.crt "$d/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$d" update-ca-certificates >/dev/null 2>&1
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ndefault-timeout = 180\n' > "$d/etc/pip.conf"
    import_rootfs "$d" python:3.11-slim 'ENV LANG=C.UTF-8' 'CMD ["python3"]'
    rm -rf "$d"
    say "python:3.11-slim stand-in built in $((SECONDS - began)) s"
fi
if ! "$DOCKER" image inspect redis:7-alpine >/dev/null 2>&1; then
    say "building the stand-in for redis:7-alpine (debootstrap $SUITE: redis-server)"
    began=$SECONDS
    d=$WORK/redis
    rootfs "$d" redis-server
    # As the official image's entry point: redis-server as user redis in /data, protected mode off
    # (it is reached from other containers, without a password, on the compose network only).
    cat > "$d/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = "redis-server" ]; then
    shift
    set -- redis-server "$@" --protected-mode no
    if [ "$(id -u)" = 0 ]; then
        find . \! -user redis -exec chown redis '{}' +
        exec setpriv --reuid=redis --regid=redis --init-groups "$@"
    fi
fi
exec "$@"
SH
    chmod +x "$d/usr/local/bin/docker-entrypoint.sh"
    mkdir -p "$d/data"
    import_rootfs "$d" redis:7-alpine 'WORKDIR /data' 'VOLUME /data' 'EXPOSE 6379' \
        'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["redis-server"]'
    rm -rf "$d"
    say "redis:7-alpine stand-in built in $((SECONDS - began)) s"
fi

# --- the project's image, from its Dockerfile as it is ---------------------------------------------
compose() { docker-compose -f "$ROOT/docker-compose.yml" "$@"; }
began=$SECONDS
compose build --quiet foot-traffic-producer >"$RUN/build.log" 2>&1 || { tail -n 30 "$RUN/build.log"; die "docker-compose build"; }
say "image built in $((SECONDS - began)) s"
image_bytes=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
base_bytes=$("$DOCKER" image inspect -f '{{.Size}}' python:3.11-slim)
above_mb=$(( (image_bytes - base_bytes) / 1000000 ))
heavy=$("$DOCKER" run --rm --entrypoint python "$IMAGE" -c \
    "import importlib.util as u; print(' '.join(m for m in ('pyarrow','matplotlib','scipy','pandas') if u.find_spec(m)))")
[ -z "$heavy" ] || die "the image holds $heavy"
set +e
parquet=$("$DOCKER" run --rm --entrypoint foot-traffic "$IMAGE" simulate --format parquet --days 0.01 --seed 1 \
    --out /tmp/out 2>&1)
code=$?
set -e
[ "$code" = 2 ] && [ "$(printf '%s\n' "$parquet" | wc -l)" = 1 ] \
    && [[ "$parquet" == *"pip install 'foot-traffic-sim[parquet]'" ]] \
    || die "simulate --format parquet in the image: exit $code, said: $parquet"
say "the image holds none of pyarrow, matplotlib, scipy, pandas; --format parquet there says: ${parquet#foot-traffic: error: }"

# --- up: streams written, healthy, the user ------------------------------------------------------
export SEED=42 SPEED=$SPEED_UP
began_up=$(date +%s.%N)
compose up -d >"$RUN/up.log" 2>&1 || { cat "$RUN/up.log"; die "docker-compose up"; }
producer=$(compose ps -q foot-traffic-producer)
redis=$(compose ps -q redis)
redis_cli() { "$DOCKER" exec "$redis" redis-cli "$@"; }
health() { "$DOCKER" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$producer"; }
wait_for() {  # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
    local limit=$1 what=$2; shift 2
    local deadline=$(( SECONDS + limit ))
    until "$@"; do
        if [ $SECONDS -ge $deadline ]; then
            "$DOCKER" logs --tail 30 "$producer" >&2 || true
            die "$what (waited ${limit} s)"
        fi
        sleep 0.2
    done
}
is_healthy() { [ "$(health)" = healthy ]; }
wait_for 90 "the producer never became healthy (last: $(health))" is_healthy
healthy_s=$(since "$began_up")
has_events() { [ "$(redis_cli XLEN foot_traffic:realistic)" -gt 0 ] && [ "$(redis_cli XLEN foot_traffic)" -gt 0 ]; }
wait_for 60 "no events in the streams" has_events
uid=$("$DOCKER" exec "$producer" sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status')
[ "$uid" = 10001 ] || die "the producer runs as uid $uid, not 10001 (producer)"
published=$("$DOCKER" port "$redis" || true)
[ -z "$published" ] || die "redis publishes ports: $published"
say "healthy $(printf '%.1f' "$healthy_s") s after up; events in both streams; runs as uid $uid; redis publishes nothing"

# --- docker stop: within the grace period, exit code 0 -------------------------------------------
grace=$("$DOCKER" inspect -f '{{.Config.StopTimeout}}' "$producer")
before=$(redis_cli XLEN foot_traffic:realistic)
t0=$(date +%s.%N)
"$DOCKER" stop "$producer" >/dev/null
stop_s=$(since "$t0")
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$producer")
[ "$code" = 0 ] || { "$DOCKER" logs --tail 20 "$producer" >&2; die "docker stop: exit code $code"; }
awk -v s="$stop_s" -v g="$grace" 'BEGIN { exit !(s < g) }' || die "docker stop took $stop_s s (grace period $grace s)"
say "docker stop: exit 0 in $(printf '%.2f' "$stop_s") s (grace period $grace s)"

# --- a restart continues the run -----------------------------------------------------------------
run_before=$(redis_cli HGETALL foot_traffic:run | tr '\n' ' ')
stopped_at=$(redis_cli XLEN foot_traffic:realistic)
first_before=$(redis_cli XRANGE foot_traffic:realistic - + COUNT 1 | head -n 1)
"$DOCKER" start "$producer" >/dev/null
continued() { "$DOCKER" logs "$producer" 2>&1 | grep -q "continued run: seed 42"; }
wait_for 60 "the restarted producer did not continue its run" continued
grew() { [ "$(redis_cli XLEN foot_traffic:realistic)" -gt "$stopped_at" ]; }
wait_for 60 "no new events after the restart" grew
[ "$(redis_cli HGETALL foot_traffic:run | tr '\n' ' ')" = "$run_before" ] || die "the run record changed on restart"
[ "$(redis_cli XRANGE foot_traffic:realistic - + COUNT 1 | head -n 1)" = "$first_before" ] \
    || die "the stream's first entry changed on restart"
wait_for 90 "not healthy again after the restart" is_healthy
say "restart: continued the run (seed 42, same run record, same first entry), $before -> $(redis_cli XLEN foot_traffic:realistic) door events"

compose down -v >/dev/null 2>&1
"$DOCKER" image prune -f >/dev/null  # the cache keeps the images in use, not every earlier build
say "image $IMAGE: $(( image_bytes / 1000000 )) MB, ${above_mb} MB above python:3.11-slim (stand-in, $(( base_bytes / 1000000 )) MB); limit ${LIMIT_MB} MB"
[ "$above_mb" -le "$LIMIT_MB" ] || die "the image is ${above_mb} MB above its base (limit ${LIMIT_MB} MB)"
say "passed in $SECONDS s"

#!/usr/bin/env bash
# Make a Docker engine available. Idempotent: reuses an engine that already
# answers `docker info` (honouring DOCKER_HOST); otherwise, as root on Debian,
# installs docker.io and starts dockerd in the background.
set -euo pipefail

log() { echo "engine.sh: $*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

ensure_tools() {  # debootstrap: the stand-ins' Debian; sshd: the same engine reached as ssh:// (a test);
    local missing=()   # ip: a bridge for a second engine of a test's own (its disk full)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v ip >/dev/null || missing+=(iproute2)
    [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
    if [[ ${#missing[@]} -gt 0 && $(id -u) -eq 0 ]]; then
        log "installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

if command -v docker >/dev/null && engine_answers; then
    log "reusing the running engine"
    ensure_tools
    exit 0
fi
if [[ -n "${DOCKER_HOST:-}" ]]; then
    log "DOCKER_HOST=$DOCKER_HOST does not answer; unset it or start that engine"
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    log "no engine answers and starting one needs root; start dockerd yourself"
    exit 1
fi
if ! command -v dockerd >/dev/null; then
    log "installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
ensure_tools
if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 120); do
    if engine_answers; then
        log "engine ready"
        exit 0
    fi
    sleep 0.5
done
log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
exit 1

#!/bin/bash
# STAND-IN for the docker CLI on the deploy tests' SSH host (Docker cannot run on this machine).
# It records each call's argv in $S/calls.log and answers as Docker documents its output:
#   docker compose version             -> "Docker Compose version v2.29.7"
#   docker compose up -d ... --wait    -> exit 0 once every service is running and healthy; exit 1
#                                         with "container NAME is unhealthy" when one is not
#   docker compose ps --all --format json -> one JSON object per line (Compose v2.21+), fields
#                                         Name, Service, State, Health, Status, ExitCode, ...
#   docker inspect --format '{{json .State.Health}}' NAME -> {"Status":…,"FailingStreak":…,"Log":[…]}
#   docker compose logs --no-color --tail N SERVICE -> "NAME  | line"
#   docker compose exec -T SERVICE CMD… -> runs CMD here, with $S/exec.env (the container's environment)
# A processor is unhealthy when the release's processor/*.mjs contain MYT_STAND_IN_UNHEALTHY
# (a broken processor bundle). Services that are up are kept in $S/up (one "service health" a line).
# MYT_STAND_IN_BLOCK_SWITCH there makes `up` leave a folder at the platform's current.new, so that
# the next switch of `current` fails (a host whose disk or permissions went wrong meanwhile).
S=__STATE__
{ printf '%q ' "$@"; printf '\n'; } >> "$S/calls.log"

project() { sed -n 's/^name: *//p' compose.yaml | head -1; }
services() { awk '/^services:/{s=1;next} s&&/^[^ #]/{s=0} s&&/^  [A-Za-z0-9_.-]+:$/{sub(/^  /,"");sub(/:$/,"");print}' compose.yaml; }
health_of() { # service -> healthy|unhealthy
  case "$1" in processor-*) cat processor/*.mjs 2>/dev/null | grep -q MYT_STAND_IN_UNHEALTHY && { echo unhealthy; return; } ;; esac
  echo healthy
}

if [ "$1" = inspect ]; then
  name=${!#}
  svc=$(awk -v n="$name" '$3==n{print $1}' "$S/up" 2>/dev/null)
  h=$(awk -v n="$name" '$3==n{print $2}' "$S/up" 2>/dev/null)
  if [ "$h" = unhealthy ]; then
    echo '{"Status":"unhealthy","FailingStreak":3,"Log":[{"Start":"2026-11-30T07:00:00.000000000Z","End":"2026-11-30T07:00:00.100000000Z","ExitCode":1,"Output":"TypeError: fetch failed\n"}]}'
  else
    echo '{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"2026-11-30T07:00:00.000000000Z","End":"2026-11-30T07:00:00.100000000Z","ExitCode":0,"Output":""}]}'
  fi
  exit 0
fi
[ "$1" = compose ] || { echo "stand-in docker: unsupported command: $*" >&2; exit 125; }
shift
case "$1" in
  version) echo "Docker Compose version v2.29.7"; exit 0 ;;
  up)
    shift; listed=()
    while [ $# -gt 0 ]; do
      case "$1" in --wait-timeout) shift ;; -*) ;; *) listed+=("$1") ;; esac; shift
    done
    p=$(project); [ -n "$p" ] || { echo "no configuration file provided: not found" >&2; exit 14; }
    [ ${#listed[@]} -gt 0 ] || listed=($(services))
    cat processor/*.mjs 2>/dev/null | grep -q MYT_STAND_IN_BLOCK_SWITCH && mkdir -p "${PWD%/current}/current.new/blocked"
    touch "$S/up"; status=0
    for svc in "${listed[@]}"; do
      h=$(health_of "$svc"); name="$p-$svc-1"
      grep -v "^$svc " "$S/up" > "$S/up.new"; echo "$svc $h $name" >> "$S/up.new"; mv "$S/up.new" "$S/up"
      if [ "$h" = healthy ]; then echo " Container $name  Healthy" >&2; else echo "container $name is unhealthy" >&2; status=1; fi
    done
    exit $status ;;
  ps)
    p=$(project)
    [ -f "$S/up" ] || exit 0
    while read -r svc h name; do
      st="Up 2 minutes ($h)"
      printf '{"Command":"\\"docker-entrypoint.sh\\"","CreatedAt":"2026-11-30 07:00:00 +0000 UTC","ExitCode":0,"Health":"%s","ID":"0123456789ab","Image":"stand-in","Labels":"com.docker.compose.project=%s","LocalVolumes":"0","Mounts":"","Name":"%s","Names":"%s","Networks":"%s_default","Ports":"","Project":"%s","Publishers":[],"RunningFor":"2 minutes ago","Service":"%s","Size":"0B","State":"running","Status":"%s"}\n' \
        "$h" "$p" "$name" "$name" "$p" "$p" "$svc" "$st"
    done < "$S/up"
    exit 0 ;;
  logs)
    svc=${!#}; p=$(project)
    echo "$p-$svc-1  | processor: starting"
    # As a failing processor might: it names the broker URL it was given (its password must be masked).
    [ "$(health_of "$svc")" = unhealthy ] && echo "$p-$svc-1  | processor: cannot reach the broker at $(sed -n 's/^MYT_AMQP_URL=//p' ../../secrets/processor.env 2>/dev/null)"
    exit 0 ;;
  exec)
    shift
    while [ $# -gt 0 ]; do case "$1" in -T) shift ;; -e|-u|-w) shift 2 ;; *) break ;; esac; done
    shift # the service
    . "$S/exec.env"
    exec "$@" ;;
  *) echo "stand-in docker: unsupported compose command: $*" >&2; exit 125 ;;
esac

#!/usr/bin/env bash
# Memory under hostile load (E03 of shared/reliability.md): builds wxreply,
# serves the bundled examples with default limits on loopback, sends 300,000
# fresh signed pushes at full speed, then opens 300 connections that each
# send about 1 MB of headers, and prints the server's RSS (VmRSS, and the
# peak VmHWM) before and after each phase. The target is a peak below
# 100 MB. It stops by itself and kills the server it started.
#
#   scripts/mem-hostile.sh [pushes] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
pushes=${1:-300000}
conns=${2:-300}

tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/wxreply" .
go build -o "$tmp/mem-hostile" scripts/mem-hostile.go

"$tmp/wxreply" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --token memhostile --rules examples/rules \
  > /dev/null 2> "$tmp/serve.log" &
pid=$!
url= admin=
for _ in $(seq 100); do
  url=$(sed -n 's/.*msg="wxreply serving" url=\([^ ]*\) admin=\([^ ]*\).*/\1/p' "$tmp/serve.log")
  admin=$(sed -n 's/.*msg="wxreply serving" url=\([^ ]*\) admin=\([^ ]*\).*/\2/p' "$tmp/serve.log")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
echo "wxreply serve (pid $pid) on $url, admin $admin, default limits"

timeout 600 "$tmp/mem-hostile" -url "$url" -token memhostile -pid "$pid" -pushes "$pushes" -conns "$conns"

echo "what the server counted:"
curl -s --max-time 5 "$admin/metrics" | grep -E '^wxreply_(requests_total|requests_rejected_total|cache_entries|cache_evictions_total|pushes_shed_total)' || true
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

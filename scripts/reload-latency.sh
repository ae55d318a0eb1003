#!/usr/bin/env bash
# Save-to-live latency of hot reload: how long after a rule file is saved
# (written beside it, then renamed over it, as editors do) does a push get
# the new reply? Starts `wxreply serve` on a temporary rule folder with the
# default debounce and poll, saves N versions one after the other, and after
# each save runs `wxreply send` in a loop until the reply is the new
# version's. Prints p50/p99 in ms. Everything listens on 127.0.0.1.
#
#   scripts/reload-latency.sh [saves]
#
# The clock starts when the rename returns and stops when a `wxreply send`
# that printed the new reply exits, so each sample includes up to one send
# round trip (a process start, printed as "send round trip").
set -euo pipefail
cd "$(dirname "$0")/.."
saves=${1:-50}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/wxreply" .
mkdir "$tmp/rules"

# Version N answers any text with "vN N": a literal and a var.
rules() {
  printf 'vars:\n  v: "%s"\nrules:\n  - id: any-text\n    msgtype: text\n    reply: { text: "v%s {{ .Vars.v }}" }\n' "$1" "$1"
}
save() {
  rules "$1" > "$tmp/rules/.shop.yaml.tmp"
  mv "$tmp/rules/.shop.yaml.tmp" "$tmp/rules/shop.yaml"
}
now_ns() { date +%s%N; }

save 0
"$tmp/wxreply" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --token latency --rules "$tmp/rules" > /dev/null 2> "$tmp/serve.log" &
url=
for _ in $(seq 100); do
  url=$(sed -n 's/.*msg="wxreply serving" url=\([^ ]*\).*/\1/p' "$tmp/serve.log")
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then echo "wxreply serve did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; fi
send() { "$tmp/wxreply" send --url "$url" --token latency --text hi; }
[ "$(send)" = "$(printf 'text:\n  v0 0')" ] || { echo "unexpected first reply: $(send)" >&2; exit 1; }

# What one poll costs: the resolution of every sample.
t0=$(now_ns)
for _ in $(seq 10); do send > /dev/null; done
rtt=$(( ($(now_ns) - t0) / 10000000 ))

: > "$tmp/latency"
for n in $(seq 1 "$saves"); do
  want=$(printf 'text:\n  v%s %s' "$n" "$n")
  save "$n"
  t0=$(now_ns)
  polls=0
  until [ "$(send)" = "$want" ]; do
    polls=$((polls + 1))
    if [ $(( ($(now_ns) - t0) / 1000000 )) -gt 10000 ]; then
      echo "save $n: not live after 10 s; last reply: $(send)" >&2
      tail -5 "$tmp/serve.log" >&2
      exit 1
    fi
  done
  echo $(( ($(now_ns) - t0) / 1000000 )) >> "$tmp/latency"
done

sort -n "$tmp/latency" > "$tmp/sorted"
rank() { # nearest-rank percentile $1 of the sorted samples
  local n i
  n=$(wc -l < "$tmp/sorted")
  i=$(( (n * $1 + 99) / 100 ))
  sed -n "${i}p" "$tmp/sorted"
}
reloads=$(grep -c 'msg="rules reloaded"' "$tmp/serve.log" || true)
failed=$(grep -c 'msg="rules not reloaded' "$tmp/serve.log" || true)
echo "saves: $saves (atomic rename), debounce: default, reloads logged: $reloads, failed: $failed"
echo "send round trip: ${rtt} ms"
echo "save to live: min $(head -1 "$tmp/sorted") ms, p50 $(rank 50) ms, p90 $(rank 90) ms, p99 $(rank 99) ms, max $(tail -1 "$tmp/sorted") ms," \
  "mean $(awk '{ s += $1 } END { printf "%d", s / NR }' "$tmp/sorted") ms"

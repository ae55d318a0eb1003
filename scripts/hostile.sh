#!/usr/bin/env bash
# Hostile rules, served: for each rule file in scripts/hostile (and a regex
# keyword of 40,000 alternatives made here), `wxreply check` on a folder of
# that rule and a fallback, then `wxreply serve` on it under a 4 GB
# address-space limit (as in a container), four pushes of 60 KB of text at
# once, and a look at the process. Prints one row per rule:
#
#   rule | check's verdict | reply | CPU s in the 2 s after the last reply | peak RSS
#
# Everything listens on 127.0.0.1 and stops by itself.
#
#   scripts/hostile.sh                 # the wxreply of this tree
#   WXREPLY=/path/to/wxreply scripts/hostile.sh   # another build, to compare
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
bin=${WXREPLY:-}
if [ -z "$bin" ]; then
  go build -o "$tmp/wxreply" .
  bin=$tmp/wxreply
fi

cases=$tmp/cases
mkdir -p "$cases"
cp scripts/hostile/*.yaml "$cases/"
# 520 KB: the pattern of the hostile-rule catalogue.
python3 - "$cases/regex-40k.yaml" <<'PY'
import sys
alts = "|".join("w%05d" % i for i in range(40000))
open(sys.argv[1], "w").write("rules:\n  - id: regex-40k\n    keywords: ['%s']\n    match: regex\n    reply: { text: never }\n" % alts)
PY

# Builds from before the admin listener have no --admin-listen.
admin=
if "$bin" serve --help 2>&1 | grep -q admin-listen; then admin="--admin-listen 127.0.0.1:0"; fi

text=a$(head -c 61000 /dev/zero | tr '\0' 'a')
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
port=18190

printf '%-15s | %-60s | %-18s | %-10s | %s\n' rule check reply "CPU 2 s" "peak RSS"
for f in "$cases"/*.yaml; do
  name=$(basename "$f" .yaml)
  dir=$tmp/rules-$name
  mkdir -p "$dir"
  cp "$f" "$dir/rule.yaml"
  printf 'rules:\n  - id: fallback\n    msgtype: text\n    priority: -100\n    reply: { text: fallback }\n' > "$dir/zz-fallback.yaml"

  verdict=$(timeout 120 "$bin" check "$dir" 2>&1 | head -n 1 | sed "s|$dir/||" | cut -c1-60) || true
  [ -n "$verdict" ] || verdict="(check took over 120 s)"

  port=$((port + 1))
  url=http://127.0.0.1:$port/wechat
  (ulimit -v 4000000; exec "$bin" serve --listen 127.0.0.1:$port $admin --rules "$dir" >"$tmp/out" 2>"$tmp/err") &
  pid=$!
  for _ in $(seq 100); do
    grep -q "wxreply serving" "$tmp/err" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q "wxreply serving" "$tmp/err" 2>/dev/null; then
    printf '%-15s | %-60s | %-18s | %-10s | %s\n' "$name" "$verdict" "not served" - -
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
    continue
  fi
  for i in 1 2 3 4; do
    timeout 20 "$bin" send --url "$url" --from "o_hostile_$i" --text "$text" >"$tmp/reply$i" 2>&1 &
  done
  wait $(jobs -p | grep -v "^$pid\$") 2>/dev/null || true
  reply=$(grep -ho 'fallback\|never\|done\|success\|[0-9]\{6,\}' "$tmp"/reply1 | head -n 1)
  if ! kill -0 "$pid" 2>/dev/null; then
    reply="process died"
    died=$(grep -m1 -o 'fatal error: [a-z ]*\|out of memory' "$tmp/err" || true)
    printf '%-15s | %-60s | %-18s | %-10s | %s\n' "$name" "$verdict" "$reply" - "${died:-}"
    pid=
    continue
  fi
  before=$(cpu "$pid")
  sleep 2
  after=$(cpu "$pid")
  rss=$(awk '/VmHWM/ {printf "%d MB", $2/1024}' "/proc/$pid/status")
  printf '%-15s | %-60s | %-18s | %-10s | %s\n' "$name" "$verdict" "${reply:-?}" \
    "$(awk -v a="$before" -v b="$after" -v t="$ticks" 'BEGIN {printf "%.2f", (b - a) / t}')" "$rss"
  kill "$pid" 2>/dev/null || true
  timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  pid=
done

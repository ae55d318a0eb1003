#!/usr/bin/env bash
# Loopback load test: requests per second of `wxreply serve` on the bundled
# examples for a signed text message, beside a bare net/http handler that
# returns fixed bytes, measured in the same run so the ratio holds on a noisy
# machine. Needs wrk (apt-get install wrk). Everything listens on 127.0.0.1.
#
#   scripts/load.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/wxreply" .
mkdir "$tmp/bare"
cat > "$tmp/bare/main.go" <<'GO'
package main

import "net/http"

func main() {
	reply := []byte("<xml><ToUserName><![CDATA[o]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>")
	http.ListenAndServe("127.0.0.1:18081", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(reply)
	}))
}
GO
(cd "$tmp/bare" && go mod init bare >/dev/null 2>&1 && go build -o "$tmp/bare-server" .)

for port in 18080 18081 19091; do
  if (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "port $port is taken: stop what listens there" >&2; exit 1; fi
done

# The server on core 1, wrk on core 0, as in shared/reliability.md §4.1.
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
# exec, so that the PID the trap kills is the server's own, not a subshell's.
(exec env GOMAXPROCS=1 $(command -v taskset >/dev/null && echo taskset -c 1) "$tmp/wxreply" serve --listen 127.0.0.1:18080 --admin-listen 127.0.0.1:19091 --token loadtest --rules examples/rules 2>/dev/null) &
pids+=($!)
(exec env GOMAXPROCS=1 $(command -v taskset >/dev/null && echo taskset -c 1) "$tmp/bare-server") &
pids+=($!)
sleep 1

# The signature covers token, timestamp and nonce only, so one signed query
# serves the whole run; each request carries its own MsgId (the time and a
# counter) so none is a retry.
ts=$(date +%s)
nonce=12345
sig=$(printf '%s' $(printf '%s\n' loadtest "$ts" "$nonce" | sort | tr -d '\n') | sha1sum | cut -d' ' -f1)
cat > "$tmp/push.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local body = "<xml><ToUserName><![CDATA[gh_5e8a1c2f9b3d]]></ToUserName><FromUserName><![CDATA[oLoad]]></FromUserName>" ..
    "<CreateTime>$ts</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[how much is a latte]]></Content>" ..
    "<MsgId>$ts" .. string.format("%09d", n) .. "</MsgId></xml>"
  return wrk.format("POST", "/wechat?signature=$sig&timestamp=$ts&nonce=$nonce", {["Content-Type"] = "text/xml"}, body)
end
LUA

run() {
  pin 0 wrk -t1 -c"$conns" -d"${secs}s" "$@" > "$tmp/wrk.out"
  awk '/Non-2xx/ {print "non-2xx responses: " $4}' "$tmp/wrk.out" >&2
  awk '/Requests\/sec/ {rps=$2} /Latency/ {lat=$2} END {print rps, lat}' "$tmp/wrk.out"
}
read -r bare bare_lat < <(run http://127.0.0.1:18081/)
read -r wx wx_lat < <(run -s "$tmp/push.lua" http://127.0.0.1:18080)
printf '%-36s %8.0f req/s  mean latency %s\n' "bare net/http, fixed bytes" "$bare" "$bare_lat" \
  "wxreply serve, signed text message" "$wx" "$wx_lat"
printf 'ratio wxreply / bare: %.2f\n' "$(echo "$wx / $bare" | bc -l)"
echo "what wxreply answered:"
curl -s http://127.0.0.1:19091/metrics | grep -E '^wxreply_(requests_total|rule_hits_total|requests_rejected_total)'

#!/usr/bin/env bash
# peer-bench.sh: load-test wxreply beside the peer servers in
# /work/shared/bench/peers, with every request signed afresh.
#
# Why this script exists: /work/shared/bench/run-peers.sh signs ONE query
# (signature/timestamp/nonce) per entry and sends it for the whole run, with
# --vary-msgid changing only the body's MsgId. In plain mode WeChat's
# signature covers only token, timestamp and nonce, so a signed query that
# comes again with another body is a replay, and wxreply refuses it (403,
# reason replayed_query, server/replay.go). Under run-peers.sh wxreply thus
# answers nearly every request with a refusal, and its full pipeline is never
# measured.
#
# How it differs from run-peers.sh (same entries, same peers, built from
# /work/shared/bench/peers, same table and measures: req/s, p50/p99, server
# CPU per request, RSS, x static):
#   - --sign-each (the default, for EVERY entry, so that the client's cost is
#     the same whatever the server): the wrk Lua script gives every request a
#     fresh nonce, "<run><thread, 3 digits><counter>" (run 1 = warm-up,
#     2 = measurement, 0 = the curl checks: no two requests to one server
#     process share a query), and signs it in Lua:
#     sha1(sort(token, timestamp, nonce)), with a SHA-1 written here on
#     LuaJIT's `bit` library (wrk links libluajit). --no-sign-each sends one
#     signed query per entry, as run-peers.sh does.
#   - the signing's cost to the client is measured: with --sign-each and
#     nethttp-static among the peers, the entry nethttp-static-fixedq runs
#     nethttp-static with run-peers.sh's one fixed query (otherwise the same
#     request), and the summary prints the ratio of the two (--no-sign-cost
#     skips it). The table also has wrk's own CPU per request (wrk us/rq).
#   - --vary-msgid builds the MsgId from integer digits,
#     "3<run><thread, 3 digits><counter, 12 digits>". run-peers.sh adds
#     3e16 + thread * 1e9 + counter in Lua numbers (doubles), which above 2^53
#     round to a multiple of 4: about four requests in a row share a MsgId,
#     and the warm-up's MsgIds come again in the measurement.
#   - the curl check before and after the load signs a fresh query each time.
#   - a port already in use is refused (another server there would answer the
#     check and the load in our entry's name), and peers are built into their
#     own folder [$TMPDIR/wxreply-peer-bench/bin], not run-peers.sh's.
#   - --selftest checks the Lua SHA-1 and signing against sha1sum, inside
#     wrk's own LuaJIT, then has nethttp-min (which refuses a bad signature
#     with 403) take a short signed run with zero non-2xx, and refuse a run
#     signed with the wrong token.
# wxreply refuses a bad signature too, so a measured wxreply run with zero
# non-2xx and zero errors also proves the signing.
#
# Usage:
#   scripts/peer-bench.sh [options] [--cmd 'NAME=command using $PORT'] ...
#   scripts/peer-bench.sh --selftest
# Options (defaults in brackets):
#   --rounds N        rounds over all entries [2]
#   --duration D      measured wrk run per entry, wrk syntax [10s]
#   --warmup D        discarded wrk run before each measurement [3s]
#   --threads N       wrk threads [2]
#   --conns N         wrk connections [64]
#   --only LIST       comma-separated peers to run; "none" runs only --cmd entries
#                     [nethttp-static,nethttp-min,echo-min,silenceper,echo-expr-100]
#   --cmd 'NAME=CMD'  extra entry (repeatable). CMD is run by bash with PORT and
#                     WECHAT_TOKEN exported; it must serve POST <--path> on 127.0.0.1:$PORT
#                     and answer Content "hello" with a text reply. "NAME=" is
#                     optional (default cmd1, cmd2, ...). Example:
#                       --cmd "wxreply=exec $T/wxreply serve --listen 127.0.0.1:\$PORT --token \$WECHAT_TOKEN --rules $T/r1000"
#                     It runs in its own session; CPU and RSS are summed over its
#                     process group, so start a built binary (not `go run`), and
#                     end a compound command with `exec server ...`. It is stopped
#                     with SIGTERM to that process group (SIGKILL after 5 s).
#   --path P          request path [/wechat] (wxreply serve's --path default)
#   --token T         WeChat token the servers are configured with [benchtoken]
#   --sign-each       sign every request with a fresh nonce [default]
#   --no-sign-each    one signed query per entry, as run-peers.sh
#   --no-sign-cost    do not add the nethttp-static-fixedq entry
#   --vary-msgid      a fresh MsgId per request (for servers that de-duplicate
#                     by MsgId, as wxreply does)
#   --port-base N     first port [18180]
#   --out DIR         where results go [$TMPDIR/wxreply-peer-bench/<timestamp>]
#   --bench-dir DIR   the shared bench, holding peers/ [/work/shared/bench]
#   --no-build        use the binaries already built in $BENCH_BIN [$TMPDIR/wxreply-peer-bench/bin]
#   --summarize DIR   only reprint the summary table of DIR/results.tsv
#   --selftest        check the Lua SHA-1 and signing, then exit
#
# Results: OUT/results.tsv (one row per entry and round), OUT/summary.txt,
# OUT/meta.txt, OUT/logs/ (Lua script, wrk output, server log per run).
#
# The request: query signature/timestamp/nonce/openid, timestamp = now when
# each entry starts (keep a run well inside the servers' timestamp window,
# wxreply's is 5 minutes). Body: a text message, Content "hello", fixed MsgId
# unless --vary-msgid. The server must answer 200 with a text reply whose
# ToUserName is the sender's openid; that is checked before and after the load.
# The client's work differs between --sign-each and --no-sign-each, so compare
# only runs made with the same settings, and on a shared machine compare
# ratios to nethttp-static from the same run, not req/s across runs.
#
# Only loopback traffic; every wrk run is bounded by --duration; only the PIDs
# this script started are signalled.
set -euo pipefail

command -v go >/dev/null || { echo "go is not on PATH" >&2; exit 2; }

summarize() { # results.tsv -> table: per-round req/s, means over rounds, ratios of mean req/s
  awk -F'\t'  '
  NR == 1 { next }
  $1 > rounds { rounds = $1 }
  $4 == "FAILED" { failed[$3] = 1; if (!($3 in seen)) { seen[$3] = 1; names[++nn] = $3 }; next }
  {
    if (!($3 in seen)) { seen[$3] = 1; names[++nn] = $3 }
    rps[$3, $1] = $4; srps[$3] += $4; cnt[$3]++
    sp50[$3] += $5; sp99[$3] += $6; scpu[$3] += $10; srss[$3] += $12; swrk[$3] += $14
    if ($8 + $9 > 0) errs[$3] += $8 + $9
  }
  END {
    printf "%-22s", "server"
    for (r = 1; r <= rounds; r++) printf " %10s", "r" r " req/s"
    printf " %10s %8s %8s %9s %9s %8s %8s %8s %6s\n", "mean req/s", "p50 us", "p99 us", "cpu us/rq", "wrk us/rq", "RSS MiB", "x static", "x echo", "errors"
    for (i = 1; i <= nn; i++) { n = names[i]; if (cnt[n]) m[n] = srps[n] / cnt[n] }
    for (i = 1; i <= nn; i++) {
      n = names[i]
      if (!cnt[n]) { printf "%-22s FAILED\n", n; continue }
      printf "%-22s", n
      for (r = 1; r <= rounds; r++) printf " %10s", ((n, r) in rps) ? sprintf("%.0f", rps[n, r]) : "-"
      printf " %10.0f %8.0f %8.0f %9.1f %9.1f %8.1f", m[n], sp50[n] / cnt[n], sp99[n] / cnt[n], scpu[n] / cnt[n], swrk[n] / cnt[n], srss[n] / cnt[n] / 1024
      printf " %8s %8s %6d\n", ("nethttp-static" in m) ? sprintf("%.2f", m[n] / m["nethttp-static"]) : "-", \
        ("echo-min" in m) ? sprintf("%.2f", m[n] / m["echo-min"]) : "-", errs[n]
    }
    if (("nethttp-static" in m) && ("nethttp-static-fixedq" in m))
      printf "\nsigning cost at the client: nethttp-static signed each / one fixed query = %.2f x req/s; wrk %.1f vs %.1f us CPU per request\n", \
        m["nethttp-static"] / m["nethttp-static-fixedq"], swrk["nethttp-static"] / cnt["nethttp-static"], swrk["nethttp-static-fixedq"] / cnt["nethttp-static-fixedq"]
  }' "$1"
}

ROUNDS=2 DURATION=10s WARMUP=3s THREADS=2 CONNS=64
ONLY=nethttp-static,nethttp-min,echo-min,silenceper,echo-expr-100
PATH_=/wechat TOKEN=benchtoken VARY=0 PORT_BASE=18180 OUT= BUILD=1
SIGN_EACH=1 SIGN_COST=1 SELFTEST=0 BENCH_DIR=/work/shared/bench
CMDS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2;;
    --duration) DURATION=$2; shift 2;;
    --warmup) WARMUP=$2; shift 2;;
    --threads) THREADS=$2; shift 2;;
    --conns) CONNS=$2; shift 2;;
    --only) ONLY=$2; shift 2;;
    --cmd) CMDS+=("$2"); shift 2;;
    --path) PATH_=$2; shift 2;;
    --token) TOKEN=$2; shift 2;;
    --sign-each) SIGN_EACH=1; shift;;
    --no-sign-each) SIGN_EACH=0; shift;;
    --no-sign-cost) SIGN_COST=0; shift;;
    --vary-msgid) VARY=1; shift;;
    --port-base) PORT_BASE=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    --bench-dir) BENCH_DIR=$2; shift 2;;
    --no-build) BUILD=0; shift;;
    --summarize) summarize "$2/results.tsv"; exit 0;;
    --selftest) SELFTEST=1; shift;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
[ -d "$BENCH_DIR/peers/cmd" ] || { echo "no peers in $BENCH_DIR/peers (--bench-dir)" >&2; exit 2; }
OUT=${OUT:-${TMPDIR:-/tmp}/wxreply-peer-bench/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs"
BIN=${BENCH_BIN:-${TMPDIR:-/tmp}/wxreply-peer-bench/bin}
TSV=$OUT/results.tsv

CLK_TCK=$(getconf CLK_TCK)
NONCE=1234567890
OPENID=oX0a1w-abcdEFGHijklMNOPqrstUV
BODY_HEAD='<xml>
<ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>
<FromUserName><![CDATA[oX0a1w-abcdEFGHijklMNOPqrstUV]]></FromUserName>
<CreateTime>1700000000</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[hello]]></Content>
<MsgId>'
BODY_TAIL='</MsgId>
</xml>
'
MSGID=23456789012345678

sign() { # token timestamp nonce -> hex sha1 of the sorted concatenation
  printf '%s\n' "$1" "$2" "$3" | LC_ALL=C sort | tr -d '\n' | sha1sum | cut -d' ' -f1
}

# SHA-1 (FIPS 180-4) on LuaJIT's bit library: 32-bit words as signed
# numbers, sums brought back to 32 bits by tobit. Messages under 2^29 bytes.
LUA_SHA1='local bit = require("bit")
local band, bor, bxor, bnot, rol, lshift, rshift, tobit, tohex =
  bit.band, bit.bor, bit.bxor, bit.bnot, bit.rol, bit.lshift, bit.rshift, bit.tobit, bit.tohex
local byte, char, rep = string.byte, string.char, string.rep
local W = {}
local function sha1(s)
  local n = #s
  local bits = n * 8
  s = s .. "\128" .. rep("\0", (55 - n) % 64) .. "\0\0\0\0" ..
    char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255), band(bits, 255))
  local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
  for i = 1, #s, 64 do
    for j = 0, 15 do
      local a, b, c, d = byte(s, i + 4 * j, i + 4 * j + 3)
      W[j] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for j = 16, 79 do W[j] = rol(bxor(W[j - 3], W[j - 8], W[j - 14], W[j - 16]), 1) end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for j = 0, 19 do
      a, b, c, d, e = tobit(rol(a, 5) + bor(band(b, c), band(bnot(b), d)) + e + 0x5A827999 + W[j]), a, rol(b, 30), c, d
    end
    for j = 20, 39 do
      a, b, c, d, e = tobit(rol(a, 5) + bxor(b, c, d) + e + 0x6ED9EBA1 + W[j]), a, rol(b, 30), c, d
    end
    for j = 40, 59 do
      a, b, c, d, e = tobit(rol(a, 5) + bor(band(b, c), band(b, d), band(c, d)) + e + 0x8F1BBCDC + W[j]), a, rol(b, 30), c, d
    end
    for j = 60, 79 do
      a, b, c, d, e = tobit(rol(a, 5) + bxor(b, c, d) + e + 0xCA62C1D6 + W[j]), a, rol(b, 30), c, d
    end
    h0, h1, h2, h3, h4 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d), tobit(h4 + e)
  end
  return tohex(h0) .. tohex(h1) .. tohex(h2) .. tohex(h3) .. tohex(h4)
end
-- sha1(sort(token, timestamp, nonce)): byte order, as Go and sort(1) in C locale
local function sign(x, y, z)
  if x > y then x, y = y, x end
  if y > z then y, z = z, y end
  if x > y then x, y = y, x end
  return sha1(x .. y .. z)
end'

write_lua() { # file mode(each|fixed) query(fixed) timestamp(each)
  local f=$1 mode=$2 q=$3 ts=$4
  {
    echo 'wrk.method = "POST"'
    echo 'wrk.headers["Content-Type"] = "text/xml"'
    echo "local head = [==[$BODY_HEAD]==]"
    echo "local tail = [==[$BODY_TAIL]==]"
    # thread ids, and the run (wrk ... -- RUN: 1 warm-up, 2 measurement)
    cat <<'EOF'
local threads, n, run = 0, 0, "1"
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) run = args[1] or "1"; tid3 = string.format("%03d", tid or 0) end
EOF
    if [ "$VARY" = 1 ]; then
      cat <<'EOF'
-- fresh MsgId per request from digits, never a Lua number above 2^53
local function body() return head .. "3" .. run .. tid3 .. string.format("%012d", n) .. tail end
EOF
    else
      echo "local fixed = head .. \"$MSGID\" .. tail"
      echo 'local function body() return fixed end'
    fi
    if [ "$mode" = each ]; then
      echo "$LUA_SHA1"
      echo "local token, ts, rest = [==[$TOKEN]==], \"$ts\", \"&openid=$OPENID\""
      echo "local path = \"$PATH_?signature=\""
      cat <<'EOF'
-- a fresh nonce per request: run, thread, counter
function request()
  n = n + 1
  local nonce = run .. tid3 .. n
  return wrk.format(nil, path .. sign(token, ts, nonce) .. "&timestamp=" .. ts .. "&nonce=" .. nonce .. rest, nil, body())
end
EOF
    else
      echo "wrk.path = \"$PATH_?$q\""
      if [ "$VARY" = 1 ]; then
        echo 'function request() n = n + 1; return wrk.format(nil, nil, nil, body()) end'
      else
        echo 'wrk.body = fixed'
      fi
    fi
    cat <<'EOF'
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_s=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF
  } >"$f"
}

pids_of() { # the process we started plus, for --cmd entries, its process group
  local pid=$1
  { echo "$pid"; pgrep -g "$pid" 2>/dev/null || true; } | sort -u
}
cpu_ticks() { # utime+stime of the server's processes
  local t=0 p s
  for p in $(pids_of "$1"); do
    s=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    set -- $s
    t=$((t + ${12} + ${13}))
  done
  echo $t
}
mem_kb() { # field (VmRSS|VmHWM) summed over the server's processes
  local pid=$1 f=$2 t=0 p v
  for p in $(pids_of "$pid"); do
    v=$(awk -v f="$f:" '$1==f{print $2}' "/proc/$p/status" 2>/dev/null) || continue
    t=$((t + ${v:-0}))
  done
  echo $t
}
busy_ticks() { awk '$1=="cpu"{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

CHECKS=0 CQ=
check_query() { # mode query timestamp: CQ = the query for one curl check
  if [ "$1" = each ]; then
    CHECKS=$((CHECKS + 1))
    local nonce=0$$$CHECKS
    CQ="signature=$(sign "$TOKEN" "$3" "$nonce")&timestamp=$3&nonce=$nonce&openid=$OPENID"
  else
    CQ=$2
  fi
}

check_reply() { # port query -> 0 if the server answers a proper text reply
  local out code
  out=$(curl -s -m 5 -o - -w '\n%{http_code}' -H 'Content-Type: text/xml' \
        --data-binary "$BODY_HEAD$MSGID$BODY_TAIL" "http://127.0.0.1:$1$PATH_?$2") || return 1
  code=${out##*$'\n'}
  [ "$code" = 200 ] || { echo "HTTP $code: ${out%$'\n'*}" >&2; return 1; }
  grep -q "<ToUserName><!\[CDATA\[$OPENID\]\]></ToUserName>" <<<"$out" &&
  grep -Eq "<MsgType>(<!\[CDATA\[text\]\]>|text)</MsgType>" <<<"$out" ||
    { echo "unexpected reply: $out" >&2; return 1; }
}

stop_server() { # pid: TERM its process group when it leads one, else just it
  local pid=$1 i
  if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && stop_server "$SERVER_PID"; SERVER_PID=; }
trap cleanup EXIT
trap 'exit 130' INT TERM

build_peers() {
  echo "# building peers from $BENCH_DIR/peers -> $BIN"
  (mkdir -p "$BIN" && cd "$BENCH_DIR/peers" && go build -trimpath -o "$BIN/" ./cmd/...)
}

wrk_timed() { # timefile wrk-args...: wrk, with its user+system CPU seconds in timefile
  local tf=$1; shift
  local TIMEFORMAT='%3U %3S'
  { time { wrk "$@" 2>&1 || true; }; } 2>"$tf"
}

result_field() { # file field -> value from the RESULT line
  grep '^RESULT ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

selftest() {
  local d=$OUT/selftest fail=0
  mkdir -p "$d"
  echo "# selftest in $d"
  # 1. the SHA-1, in wrk's own LuaJIT, against sha1sum: every length 0..130
  #    (one and two blocks, the padding edges 55/56/63/64), random bytes,
  #    and sign() against this script's sign() for orders of the three parts.
  local lua=$d/sha1.lua exp=$d/expected.txt
  : >"$exp"
  {
    echo "$LUA_SHA1"
    echo 'local out = {}'
    local len s
    for len in $(seq 0 130) 1000; do
      s=$(head -c "$len" /dev/urandom | od -An -tx1 | tr -d ' \n')
      echo "out[#out + 1] = sha1((\"$s\"):gsub('..', function(h) return string.char(tonumber(h, 16)) end))"
      printf "$(sed 's/../\\x&/g' <<<"$s")" | sha1sum | cut -d' ' -f1 >>"$exp"
    done
    local tk ts nc
    for tk in benchtoken 0token Token_Z 1764000000 ''; do
      for nc in 1001 2001000001 9 zz 17640000009; do
        ts=1764000000
        echo "out[#out + 1] = sign([==[$tk]==], \"$ts\", \"$nc\")"
        sign "$tk" "$ts" "$nc" >>"$exp"
      done
    done
    echo 'io.write(table.concat(out, "\n"), "\n"); io.stdout:flush(); os.exit(0)'
  } >"$lua"
  # top-level code runs, and exits, before wrk connects anywhere
  wrk -t1 -c1 -d1s -s "$lua" http://127.0.0.1:1/ >"$d/got.txt" 2>&1 || true
  if cmp -s "$exp" "$d/got.txt"; then
    echo "ok   Lua SHA-1 and sign() in wrk's LuaJIT agree with sha1sum on $(wc -l <"$exp") inputs"
  else
    echo "FAIL Lua SHA-1 differs from sha1sum:"; diff "$exp" "$d/got.txt" | head; fail=1
  fi
  if command -v luajit >/dev/null; then
    if luajit "$lua" | cmp -s "$exp" -; then echo "ok   the same under luajit"
    else echo "FAIL the same under luajit differs"; fail=1; fi
  fi
  # 2. the request function of the bench's own Lua: nonces distinct across
  #    threads and runs, signatures right.
  local ts; ts=$(date +%s)
  local VARY=1
  write_lua "$d/req.lua" each "" "$ts"
  {
    cat "$d/req.lua"
    cat <<'EOF'
local thr = {}
for t = 1, 11 do thr[t] = { set = function(self, k, v) self[k] = v end }; setup(thr[t]) end
for r = 1, 2 do
  for t = 1, 11 do
    tid = thr[t].tid; n = 0; init({ [0] = "url", tostring(r) })
    for i = 1, 120 do
      local r = request()
      io.write(r:match("^POST ([^ ]*)"), " ", r:match("<MsgId>(%d+)</MsgId>"), "\n")
    end
  end
end
io.stdout:flush(); os.exit(0)
EOF
  } >"$d/req-test.lua"
  wrk -t1 -c1 -d1s -s "$d/req-test.lua" http://127.0.0.1:1/ >"$d/req.txt" 2>&1 || true
  local total bad uniq umsg
  total=$(grep -c "^$PATH_?" "$d/req.txt" || true)
  uniq=$(sed -n 's/.*&nonce=\([^&]*\).*/\1/p' "$d/req.txt" | sort -u | wc -l)
  umsg=$(awk '{print $2}' "$d/req.txt" | grep -E '^3[0-9]{16}$' | sort -u | wc -l)
  bad=0
  while IFS= read -r line; do
    line=${line%% *}
    local sg=${line#*signature=}; sg=${sg%%&*}
    local nc=${line#*nonce=}; nc=${nc%%&*}
    local tq=${line#*timestamp=}; tq=${tq%%&*}
    [ "$tq" = "$ts" ] && [ "$sg" = "$(sign "$TOKEN" "$ts" "$nc")" ] || bad=$((bad + 1))
  done < <(grep "^$PATH_?" "$d/req.txt" | awk 'NR % 37 == 1')
  if [ "$total" = 2640 ] && [ "$uniq" = 2640 ] && [ "$umsg" = 2640 ] && [ "$bad" = 0 ]; then
    echo "ok   request(): 2640 requests over 11 threads and 2 runs: 2640 distinct nonces and 17-digit MsgIds, sampled signatures right"
  else
    echo "FAIL request(): $total requests, $uniq distinct nonces, $umsg distinct MsgIds, $bad wrong signatures (see $d/req.txt)"; fail=1
  fi
  # 3. a server that checks: nethttp-min answers 403 to a bad signature
  if [ "$BUILD" = 1 ]; then build_peers; fi
  local port=$PORT_BASE
  port_free "$port" || { echo "port $port is in use (--port-base)" >&2; exit 1; }
  "$BIN/nethttp-min" -host 127.0.0.1 -port "$port" -token "$TOKEN" >"$d/server.log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 50); do check_query each "" "$ts"; check_reply "$port" "$CQ" 2>/dev/null && break; sleep 0.1; done
  wrk -t2 -c8 -d2s -s "$d/req.lua" "http://127.0.0.1:$port" -- 2 >"$d/wrk.txt" 2>&1 || true
  local rq n2 er
  rq=$(result_field "$d/wrk.txt" requests); n2=$(result_field "$d/wrk.txt" non2xx); er=$(result_field "$d/wrk.txt" errors)
  if [ "${rq:-0}" -gt 0 ] && [ "$n2" = 0 ] && [ "$er" = 0 ]; then
    echo "ok   nethttp-min took $rq requests signed in Lua: 0 non-2xx, 0 errors"
  else
    echo "FAIL nethttp-min: requests=${rq:-?} non2xx=${n2:-?} errors=${er:-?} (see $d/wrk.txt)"; fail=1
  fi
  # the control: signed with another token, every request must be refused
  local TOKEN_SAVE=$TOKEN; TOKEN=not-$TOKEN
  write_lua "$d/bad.lua" each "" "$ts"
  TOKEN=$TOKEN_SAVE
  wrk -t1 -c2 -d1s -s "$d/bad.lua" "http://127.0.0.1:$port" -- 2 >"$d/wrk-bad.txt" 2>&1 || true
  rq=$(result_field "$d/wrk-bad.txt" requests); n2=$(result_field "$d/wrk-bad.txt" non2xx)
  if [ "${rq:-0}" -gt 0 ] && [ "$n2" = "$rq" ]; then
    echo "ok   control: signed with the wrong token, nethttp-min refused all $rq"
  else
    echo "FAIL control: requests=${rq:-?} non2xx=${n2:-?}"; fail=1
  fi
  cleanup
  [ $fail = 0 ] && echo "# selftest passed" || { echo "# selftest FAILED"; exit 1; }
}

if [ "$SELFTEST" = 1 ]; then selftest; exit 0; fi

# ---- entries: "name<TAB>kind<TAB>command<TAB>signing" ----
MODE=fixed; [ "$SIGN_EACH" = 1 ] && MODE=each
ENTRIES=()
if [ "$ONLY" != none ]; then
  IFS=, read -ra PEERS <<<"$ONLY"
  for p in "${PEERS[@]}"; do
    [ -d "$BENCH_DIR/peers/cmd/$p" ] || { echo "no such peer: $p" >&2; exit 2; }
    ENTRIES+=("$p"$'\t'peer$'\t'"$p"$'\t'"$MODE")
    if [ "$p" = nethttp-static ] && [ "$MODE" = each ] && [ "$SIGN_COST" = 1 ]; then
      ENTRIES+=(nethttp-static-fixedq$'\t'peer$'\t'nethttp-static$'\t'fixed)
    fi
  done
fi
i=0
for c in "${CMDS[@]+"${CMDS[@]}"}"; do
  i=$((i+1))
  if [[ "$c" =~ ^([A-Za-z0-9._-]+)=(.*)$ ]]; then name=${BASH_REMATCH[1]}; cmd=${BASH_REMATCH[2]}
  else name=cmd$i; cmd=$c; fi
  ENTRIES+=("$name"$'\t'cmd$'\t'"$cmd"$'\t'"$MODE")
done
[ ${#ENTRIES[@]} -gt 0 ] || { echo "nothing to run" >&2; exit 2; }

if [ "$BUILD" = 1 ] && [ "$ONLY" != none ]; then build_peers; fi

printf 'round\torder\tname\trps\tp50_us\tp99_us\tmax_us\terrors\tnon2xx\tcpu_us_per_req\tmachine_busy_pct\trss_kb\thwm_kb\twrk_cpu_us_per_req\tsigning\n' >"$TSV"
{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), $(go version 2>/dev/null || true), $(wrk -v 2>&1 | head -1)"
  echo "# rounds=$ROUNDS duration=$DURATION warmup=$WARMUP threads=$THREADS conns=$CONNS vary_msgid=$VARY sign_each=$SIGN_EACH path=$PATH_"
} | tee "$OUT/meta.txt"

run_entry() { # round order index entry
  local round=$1 order=$2 idx=$3 name kind cmd mode
  IFS=$'\t' read -r name kind cmd mode <<<"$4"
  local port=$((PORT_BASE + idx)) log="$OUT/logs/r$round-$name"
  local ts; ts=$(date +%s)
  local sig; sig=$(sign "$TOKEN" "$ts" "$NONCE")
  local q="signature=$sig&timestamp=$ts&nonce=$NONCE&openid=$OPENID"
  write_lua "$log.lua" "$mode" "$q" "$ts"

  if ! port_free "$port"; then
    echo "!! $name: port $port is in use by something else; skipped (--port-base)" >&2
    printf '%s\t%s\t%s\tFAILED\n' "$round" "$order" "$name" >>"$TSV"
    return
  fi
  if [ "$kind" = peer ]; then
    "$BIN/$cmd" -host 127.0.0.1 -port "$port" -token "$TOKEN" >"$log.server.log" 2>&1 &
  else
    PORT=$port WECHAT_TOKEN=$TOKEN setsid bash -c "$cmd" >"$log.server.log" 2>&1 &
  fi
  SERVER_PID=$!
  local ok=0 i
  for i in $(seq 100); do
    check_query "$mode" "$q" "$ts"
    if check_reply "$port" "$CQ" 2>/dev/null; then ok=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ $ok = 0 ]; then
    check_query "$mode" "$q" "$ts"
    check_reply "$port" "$CQ" || true
    echo "!! $name did not answer correctly on port $port (log: $log.server.log)" >&2
    cleanup
    printf '%s\t%s\t%s\tFAILED\n' "$round" "$order" "$name" >>"$TSV"
    return
  fi

  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$log.lua" "http://127.0.0.1:$port" -- 1 >"$log.warmup.txt" 2>&1 || true
  local c0 b0 c1 b1
  c0=$(cpu_ticks "$SERVER_PID"); b0=$(busy_ticks)
  wrk_timed "$log.wrk.time" -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$log.lua" "http://127.0.0.1:$port" -- 2 >"$log.wrk.txt" 2>&1
  c1=$(cpu_ticks "$SERVER_PID"); b1=$(busy_ticks)
  local rss hwm
  rss=$(mem_kb "$SERVER_PID" VmRSS); hwm=$(mem_kb "$SERVER_PID" VmHWM)
  local post=ok
  check_query "$mode" "$q" "$ts"
  check_reply "$port" "$CQ" || post=FAILED
  cleanup

  local res; res=$(grep '^RESULT ' "$log.wrk.txt" || true)
  if [ -z "$res" ]; then
    echo "!! $name: no wrk result (see $log.wrk.txt)" >&2
    printf '%s\t%s\t%s\tFAILED\n' "$round" "$order" "$name" >>"$TSV"
    return
  fi
  # shellcheck disable=SC2086
  local requests rps p50_us p99_us max_us errors non2xx
  eval "$(sed 's/^RESULT //; s/ /\n/g' <<<"$res" | grep -E '^(requests|rps|p50_us|p99_us|max_us|errors|non2xx)=')"
  local cpu_us busy wrk_us
  cpu_us=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN{printf "%.1f", n ? d / hz * 1e6 / n : 0}')
  busy=$(awk -v a="$b0" -v b="$b1" 'BEGIN{split(a,x," "); split(b,y," "); printf "%.0f", (y[2]-x[2]) ? 100*(y[1]-x[1])/(y[2]-x[2]) : 0}')
  wrk_us=$(awk -v n="$requests" '{printf "%.1f", n ? ($1 + $2) * 1e6 / n : 0; exit}' "$log.wrk.time")
  [ "$post" = ok ] || echo "!! $name failed the check after the load" >&2
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$order" "$name" "$rps" "$p50_us" "$p99_us" \
    "$max_us" "$errors" "$non2xx" "$cpu_us" "$busy" "$rss" "$hwm" "$wrk_us" "$mode" >>"$TSV"
  printf '  r%s #%s %-22s %10s req/s  p50 %6s us  p99 %6s us  cpu %6s us/req  wrk %5s us/req  busy %3s%%  rss %6s KiB  err %s/%s\n' \
    "$round" "$order" "$name" "$rps" "$p50_us" "$p99_us" "$cpu_us" "$wrk_us" "$busy" "$rss" "$errors" "$non2xx"
}

n=${#ENTRIES[@]}
for round in $(seq "$ROUNDS"); do
  echo "# round $round"
  for k in $(seq 0 $((n - 1))); do
    if [ $((round % 2)) = 0 ]; then idx=$((n - 1 - k)); else idx=$k; fi
    run_entry "$round" "$((k + 1))" "$idx" "${ENTRIES[$idx]}"
    sleep 1
  done
done
# ---- summary: per-round values, mean over rounds, ratios ----
echo
echo "# results: $TSV"
summarize "$TSV" | tee "$OUT/summary.txt"

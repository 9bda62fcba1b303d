#!/usr/bin/env bash
# bench/run.sh: jeton's whole-server load benchmarks, in one run, with one
# load generator (wrk) on 127.0.0.1:
#
#   floor          a plain net/http hello-world server (bench/hello)
#   me             GET /client/me with a valid client token (embedded SQLite)
#   floor-matched  the floor again, sent the same Authorization header and
#                  answering a body as large as /client/me's (diagnostic)
#   auth-sqlite    POST /auth/authenticate-client, embedded SQLite
#   auth-postgres  the same on PostgreSQL, when JETON_BENCH_DATABASE_URL or
#                  JETON_TEST_DATABASE_URL is set (a fresh database is
#                  created for the run and dropped afterwards)
#
# For each it reports req/s, the ratio to the floor measured in this run,
# latency p50/p99, non-2xx counts (wrk's and the server's own), and the
# jeton process's peak RSS. See bench/README.md.
#
# Environment (all optional):
#   BENCH_THREADS      wrk -t                                   (default 2)
#   BENCH_CONNECTIONS  wrk -c                                   (default 64)
#   BENCH_DURATION     wrk -d of each measured run, Ns or Nm    (default 10s)
#   BENCH_WARMUP       wrk -d of the warm-up before each run; 0 = none (2s)
#   BENCH_IDS          distinct Steam IDs the POST runs cycle through (10000)
#   BENCH_OUT          results file; "-" = stdout only
#                      (default bench/results-<UTC date-time>.txt)
#   BENCH_STRICT=1     exit 1 when a target is missed (default: report only)
#   JETON_BENCH_DATABASE_URL / JETON_TEST_DATABASE_URL
#                      postgres://... of a server where this user may
#                      CREATE DATABASE; enables auth-postgres
#
# Every server runs with GOMAXPROCS unset (Go's default: all cores) and
# without any JETON_* variable of the caller's environment. wrk, jeton
# (and PostgreSQL) share the machine's cores: the figures are for the
# whole box, generator included, not for jeton alone.
set -euo pipefail

THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
IDS=${BENCH_IDS:-10000}
STRICT=${BENCH_STRICT:-0}
PG_URL=${JETON_BENCH_DATABASE_URL:-${JETON_TEST_DATABASE_URL:-}}

# Targets.
TARGET_ME_RATIO=0.85      # GET /client/me req/s over the floor's
TARGET_AUTH_RPS=10000     # POST /auth/authenticate-client on SQLite
TARGET_PAY_RPS=3000       # POST /payments on SQLite, the terminal answering at once
TARGET_RSS_MB=100         # peak RSS of jeton under each load

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
stamp=$(date -u +%Y%m%d-%H%M%S)
OUT=${BENCH_OUT:-$here/results-$stamp.txt}

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# seconds DURATION: wrk's Ns / Nm / Nh (or plain N) as whole seconds.
seconds() {
	local d=$1
	case $d in
	*s) echo "${d%s}" ;;
	*m) echo $((${d%m} * 60)) ;;
	*h) echo $((${d%h} * 3600)) ;;
	*) echo "$d" ;;
	esac
}
[[ $(seconds "$DURATION") =~ ^[0-9]+$ ]] || die "BENCH_DURATION must look like 10s, 1m"
[[ $(seconds "$WARMUP") =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must look like 2s, 0"
[[ $THREADS =~ ^[1-9][0-9]*$ && $CONNS =~ ^[1-9][0-9]*$ && $IDS =~ ^[1-9][0-9]*$ ]] ||
	die "BENCH_THREADS, BENCH_CONNECTIONS and BENCH_IDS must be positive integers"
((CONNS >= THREADS)) || die "BENCH_CONNECTIONS must be >= BENCH_THREADS"

# ---------------------------------------------------------------- cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/wrkbench.XXXXXX")
pids=()      # every background process this script started
pg_db=""     # databases to drop at exit
pg_pay_db=""
pg_admin=""  # URL used to create and drop it

# stop PID: SIGTERM, up to 10 s of grace, then SIGKILL.
stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	{ wait "$pid"; } 2>/dev/null || true
}

forget() { # forget PID: drop it from pids
	local keep=() p
	for p in ${pids[@]+"${pids[@]}"}; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	pids=(${keep[@]+"${keep[@]}"})
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in ${pids[@]+"${pids[@]}"}; do
		stop "$p"
	done
	local db
	for db in "$pg_db" "$pg_pay_db"; do
		[[ -n $db ]] || continue
		psql "$PG_URL" -qAtX -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 ||
			psql "$PG_URL" -qAtX -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 ||
			log "warning: could not drop database $db"
	done
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ preparation

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
	log "installing wrk"
	as_root apt-get install -y wrk >&2 || { as_root apt-get update >&2 && as_root apt-get install -y wrk >&2; }
fi
command -v curl >/dev/null || die "curl is needed"
if [[ -n $PG_URL ]] && ! command -v psql >/dev/null; then
	log "installing postgresql-client (psql)"
	as_root apt-get install -y postgresql-client >&2 || { as_root apt-get update >&2 && as_root apt-get install -y postgresql-client >&2; }
fi

# What was measured: the commit (read-only git) and a digest of the Go
# sources as built, which also covers uncommitted changes.
src_digest=$(cd "$root" && find . -name '*.go' -not -path './bench/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
src_commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ $src_commit != "no commit" && -n $(cd "$root" && git status --porcelain -- . ':!bench' 2>/dev/null) ]]; then
	src_commit+=" + uncommitted changes"
fi
log "building jeton and hello into $work"
(cd "$root" && go build -o "$work/jeton" ./cmd/jeton && go build -o "$work/hello" ./bench/hello && go build -o "$work/sagaprep" ./bench/sagaprep)

# Servers get the caller's environment minus GOMAXPROCS and every JETON_*
# variable (a stray JETON_DATABASE_URL would silently turn the SQLite runs
# into PostgreSQL ones).
clean_env=(env -u GOMAXPROCS)
while read -r v; do clean_env+=(-u "$v"); done < <(compgen -e | grep '^JETON_' || true)

# -------------------------------------------------------------- servers

SERVER_PID=""
SERVER_ADDR=""

# wait_listening PID LOGFILE SED_EXPR: wait (<= 30 s) for the address line.
wait_listening() {
	local pid=$1 logf=$2 expr=$3 i
	for ((i = 0; i < 300; i++)); do
		SERVER_ADDR=$(sed -n "$expr" "$logf" 2>/dev/null | head -n1 || true)
		[[ -n $SERVER_ADDR ]] && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; die "server exited"; }
		sleep 0.1
	done
	cat "$logf" >&2
	die "server did not start listening within 30 s"
}

# start_hello NAME [hello flags...]
start_hello() {
	local name=$1
	shift
	: >"$work/$name.out"
	: >"$work/$name.err"
	"${clean_env[@]}" "$work/hello" -addr 127.0.0.1:0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
	SERVER_PID=$!
	pids+=("$SERVER_PID")
	wait_listening "$SERVER_PID" "$work/$name.err" 's/.*hello listening on \([0-9.:]*\).*/\1/p'
}

# start_jeton NAME [extra env assignments --] jeton-serve-flags...
start_jeton() {
	local name=$1
	shift
	local envs=()
	while [[ $# -gt 0 && $1 != -- ]]; do
		case $1 in *=*) envs+=("$1"); shift ;; *) break ;; esac
	done
	[[ ${1:-} == -- ]] && shift
	# Create the logs first: the background job opens them only once it runs.
	: >"$work/$name.out"
	: >"$work/$name.err"
	"${clean_env[@]}" ${envs[@]+"${envs[@]}"} "$work/jeton" serve --addr 127.0.0.1:0 "$@" \
		>"$work/$name.out" 2>"$work/$name.err" &
	SERVER_PID=$!
	pids+=("$SERVER_PID")
	wait_listening "$SERVER_PID" "$work/$name.err" 's/.*msg="jeton listening" addr=\([0-9.:]*\).*/\1/p'
}

# kib_status PID FIELD: a /proc/PID/status field in KiB.
kib_status() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# sample_rss PID OUT: append PID's VmRSS (KiB) to OUT every 200 ms, one
# line each (appending, so stopping the sampler never leaves OUT empty).
sample_rss() {
	local pid=$1 out=$2 k v _
	while [[ -r /proc/$pid/status ]]; do
		while read -r k v _; do
			if [[ $k == VmRSS: ]]; then
				echo "$v" >>"$out"
				break
			fi
		done <"/proc/$pid/status" 2>/dev/null || break
		sleep 0.2
	done
}

# ------------------------------------------------------- CPU accounting
#
# The machine's cores are shared by wrk, the server (and PostgreSQL) and
# whatever else runs. Each measured run reports where the CPU went, in
# cores (1.00 = one core busy for the whole run): the server, wrk,
# PostgreSQL, every other process (plus interrupt time charged to no
# process), and idle. A large "other" means the run competed with
# unrelated work and its req/s are low; the CPU microseconds per request
# suffer less.

hz=$(getconf CLK_TCK)
ncpu=$(nproc)

# machine_ticks: "busy total" ticks of all CPUs from /proc/stat.
machine_ticks() { awk '$1 == "cpu" { b = $2 + $3 + $4 + $7 + $8 + $9; t = b + $5 + $6; print b, t; exit }' /proc/stat; }
# pid_ticks PID: utime+stime of PID (0 if gone).
pid_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
# postgres_ticks: utime+stime of every process named postgres.
postgres_ticks() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { n += $14 + $15 } END { print n + 0 }'
}
# children_ticks FILE: CPU of this shell's waited-for children (wrk), in
# ticks, into FILE. `times` must run in this shell, not in $(...).
children_ticks() {
	times >"$1.times"
	tail -n1 "$1.times" | awk -v hz="$hz" '{
		n = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); n += a[1] * 60 + a[2] }
		printf "%d\n", n * hz
	}' >"$1"
}

# ---------------------------------------------------------------- runs

# Results, one entry per benchmark, in order.
names=() rps=() p50=() p99=() wrk_bad=() srv_bad=() gone=() hwm=() rssmax=() reqs=() cpu=()

# bench NAME PID WRK_ARGS...: warm up, then one measured run of wrk
# against the server PID while sampling its RSS and CPU.
bench() {
	local name=$1 pid=$2
	shift 2
	local dur=$(($(seconds "$DURATION") + 60)) line
	local wrk=(wrk -t"$THREADS" -c"$CONNS")
	if [[ $(seconds "$WARMUP") -gt 0 ]]; then
		log "$name: warm-up $WARMUP"
		timeout --signal=INT -k 5 "$(($(seconds "$WARMUP") + 60))" "${wrk[@]}" -d"$WARMUP" "$@" >"$work/$name.warmup" 2>&1 ||
			{ cat "$work/$name.warmup" >&2; die "$name: warm-up failed"; }
	fi
	local sfile="$work/$name.rss"
	: >"$sfile"
	sample_rss "$pid" "$sfile" &
	local spid=$!
	pids+=("$spid")
	log "$name: measuring $DURATION (wrk -t$THREADS -c$CONNS)"
	local m0 s0 w0 g0 m1 s1 w1 g1
	g0=$(postgres_ticks) s0=$(pid_ticks "$pid")
	children_ticks "$work/w0"
	m0=$(machine_ticks)
	timeout --signal=INT -k 5 "$dur" "${wrk[@]}" -d"$DURATION" "$@" >"$work/$name.wrk" 2>&1 ||
		{ cat "$work/$name.wrk" >&2; die "$name: wrk failed"; }
	m1=$(machine_ticks)
	children_ticks "$work/w1"
	s1=$(pid_ticks "$pid") g1=$(postgres_ticks)
	w0=$(cat "$work/w0") w1=$(cat "$work/w1")
	# server wrk postgres other idle, in cores.
	cpu+=("$(awk -v m0="$m0" -v m1="$m1" -v s="$((s1 - s0))" -v w="$((w1 - w0))" -v g="$((g1 - g0))" -v n="$ncpu" '
		BEGIN {
			split(m0, a, " "); split(m1, b, " ")
			busy = b[1] - a[1]; total = b[2] - a[2]; wall = total / n
			other = busy - s - w - g; if (other < 0) other = 0
			printf "%.2f %.2f %.2f %.2f %.2f", s / wall, w / wall, g / wall, other / wall, (total - busy) / wall
		}')")
	stop "$spid"
	forget "$spid"
	line=$(grep '^BENCH ' "$work/$name.wrk") || { cat "$work/$name.wrk" >&2; die "$name: no BENCH line"; }
	field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
	names+=("$name")
	reqs+=("$(field requests)")
	rps+=("$(field rps)")
	p50+=("$(awk -v u="$(field p50_us)" 'BEGIN { printf "%.2f", u / 1000 }')")
	p99+=("$(awk -v u="$(field p99_us)" 'BEGIN { printf "%.2f", u / 1000 }')")
	# wrk: responses with status >= 400 plus socket errors.
	local socket=$(($(field connect) + $(field read) + $(field write) + $(field timeout)))
	wrk_bad+=("$(($(field status_errors) + socket))")
	# The sampler's maximum is the measured run only; VmHWM (read at
	# stop) also covers start-up and the warm-up.
	rssmax+=("$(awk '$1 > m { m = $1 } END { print m + 0 }' "$sfile")")
	log "$name: $(field rps) req/s"
}

# server_checks NAME PID ADDR ROUTE: record the server's own non-2xx
# count for ROUTE (from /metrics), its client-gone 500s, and VmHWM.
server_checks() {
	local name=$1 pid=$2 addr=$3 route=$4
	curl -sf "http://$addr/metrics" >"$work/$name.metrics" || die "$name: cannot read /metrics"
	local bad
	bad=$(awk -v r="route=\"$route\"" '
		/^jeton_http_requests_total\{/ && index($0, r) {
			match($0, /code="[0-9]+"/); code = substr($0, RSTART + 6, 3)
			if (code !~ /^2/) n += $NF
		}
		END { print n + 0 }' "$work/$name.metrics")
	# Requests still in flight when wrk stops are cut: the request context
	# ends, jeton answers 500 ("context canceled") to a closed connection,
	# and wrk never sees it. Those are counted apart.
	local g
	g=$(grep -c 'msg="internal error".*err="context canceled"' "$work/$name.err" || true)
	srv_bad+=("$((bad - g))")
	gone+=("$g")
	hwm+=("$(kib_status "$pid" VmHWM)")
}

hello_checks() { srv_bad+=("-"); gone+=("-"); hwm+=("$(kib_status "$1" VmHWM)"); }

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

auth_body='{"clientSteamId":"76561198012345678","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh","clientId":"user-1","clientData":{"totalWager":5000,"kycLevel":2,"fiatDeposits":true,"cryptoDeposits":false}}'

# client_token ADDR KEY: a client token from authenticate-client.
client_token() {
	curl -sf "http://$1/auth/authenticate-client" -H 'Content-Type: application/json' -H "api-key: $2" \
		-d "$auth_body" | json_field token
}

export BENCH_THREADS=$THREADS BENCH_IDS=$IDS

# Background load: how busy the machine is before any benchmark runs.
b0=$(machine_ticks)
sleep 2
b1=$(machine_ticks)
background=$(awk -v a="$b0" -v b="$b1" -v n="$ncpu" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.2f", (y[1] - x[1]) / ((y[2] - x[2]) / n) }')
log "background load: $background cores busy before the runs"

# (a) floor
start_hello floor
hello_pid=$SERVER_PID
bench floor "$hello_pid" -s "$here/wrk/report.lua" "http://$SERVER_ADDR/"
hello_checks "$hello_pid"
stop "$hello_pid"
forget "$hello_pid"

# (b) GET /client/me, embedded SQLite
data="$work/sqlite-data"
merchant=$("${clean_env[@]}" "$work/jeton" merchant create --name bench --json --data "$data")
key=$(json_field apiKey <<<"$merchant")
[[ -n $key ]] || die "merchant create printed no apiKey: $merchant"

start_jeton me -- --data "$data"
me_pid=$SERVER_PID me_addr=$SERVER_ADDR
tok=$(client_token "$me_addr" "$key")
[[ -n $tok ]] || die "authenticate-client returned no token"
curl -sf "http://$me_addr/client/me" -H "Authorization: Bearer $tok" | grep -q '"success":true' ||
	die "GET /client/me with the token failed"
bench me "$me_pid" -s "$here/wrk/report.lua" -H "Authorization: Bearer $tok" "http://$me_addr/client/me"
server_checks me "$me_pid" "$me_addr" "GET /client/me"
me_size=$(curl -sf -o /dev/null -w '%{size_download}' "http://$me_addr/client/me" -H "Authorization: Bearer $tok")
stop "$me_pid"
forget "$me_pid"

# (a') the floor again, with /client/me's request header and response size:
# a diagnostic, to tell jeton's own cost from that of the larger request
# and response.
start_hello floor-matched -body-size "$me_size"
hello_pid=$SERVER_PID
bench floor-matched "$hello_pid" -s "$here/wrk/report.lua" -H "Authorization: Bearer $tok" "http://$SERVER_ADDR/client/me"
hello_checks "$hello_pid"
stop "$hello_pid"
forget "$hello_pid"

# (c) POST /auth/authenticate-client, embedded SQLite (fresh process, same data)
start_jeton auth-sqlite -- --data "$data"
as_pid=$SERVER_PID as_addr=$SERVER_ADDR
BENCH_API_KEY=$key bench auth-sqlite "$as_pid" -s "$here/wrk/authenticate.lua" "http://$as_addr/"
server_checks auth-sqlite "$as_pid" "$as_addr" "POST /auth/authenticate-client"
stop "$as_pid"
forget "$as_pid"
sqlite_rows=$(sqlite3 "$data/jeton.db" 'SELECT count(*) FROM clients' 2>/dev/null || echo "?")

# (d) the same on PostgreSQL
pg_version=""
if [[ -n $PG_URL ]]; then
	pg_admin=$PG_URL
	pg_version=$(psql "$pg_admin" -qAtX -c 'SHOW server_version') || die "cannot connect to the PostgreSQL URL"
	pg_db="jeton_bench_${stamp//-/_}_$$"
	psql "$pg_admin" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$pg_db\"" >/dev/null
	# The same URL naming the fresh database.
	base=${PG_URL%%\?*} query=""
	[[ $PG_URL == *\?* ]] && query="?${PG_URL#*\?}"
	scheme=${base%%://*} rest=${base#*://}
	pg_bench_url="$scheme://${rest%%/*}/$pg_db$query"
	master=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
	merchant=$("${clean_env[@]}" JETON_MASTER_KEY="$master" "$work/jeton" merchant create --name bench --json --database-url "$pg_bench_url")
	pkey=$(json_field apiKey <<<"$merchant")
	[[ -n $pkey ]] || die "merchant create (postgres) printed no apiKey"
	start_jeton auth-postgres JETON_MASTER_KEY="$master" -- --database-url "$pg_bench_url"
	ap_pid=$SERVER_PID ap_addr=$SERVER_ADDR
	[[ -n $(client_token "$ap_addr" "$pkey") ]] || die "authenticate-client (postgres) returned no token"
	BENCH_API_KEY=$pkey bench auth-postgres "$ap_pid" -s "$here/wrk/authenticate.lua" "http://$ap_addr/"
	server_checks auth-postgres "$ap_pid" "$ap_addr" "POST /auth/authenticate-client"
	stop "$ap_pid"
	forget "$ap_pid"
	pg_rows=$(psql "$pg_bench_url" -qAtX -c 'SELECT count(*) FROM clients' 2>/dev/null || echo "?")
else
	log "auth-postgres skipped: set JETON_BENCH_DATABASE_URL (or JETON_TEST_DATABASE_URL) to run it"
fi

# (e) POST /payments (SagaPay, the seed's request with a client token) on
# a virtual terminal that answers at once, embedded SQLite, then
# PostgreSQL. Each request starts the payment of an order made for it
# beforehand (bench/sagaprep, not measured); the terminal then completes
# every payment while the load runs.
PAY_ORDERS=${BENCH_PAY_ORDERS:-90000}
pay_notes=()
# payments_case NAME STORE_FLAGS...: a fresh merchant, prepared orders, the run.
payments_case() {
	local name=$1 envs=()
	shift
	while [[ $# -gt 0 && $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	local m
	m=$("${clean_env[@]}" ${envs[@]+"${envs[@]}"} "$work/jeton" merchant create --name "bench-$name" --scopes CORE_ACCESS,ADMIN --json "$@")
	start_jeton "$name" ${envs[@]+"${envs[@]}"} -- --sandbox-terminal-after 0s "$@"
	local pid=$SERVER_PID addr=$SERVER_ADDR
	log "$name: preparing $PAY_ORDERS orders"
	"$work/sagaprep" -base "http://$addr" -merchant "$(json_field merchantId <<<"$m")" -partner "$(json_field partnerId <<<"$m")" \
		-key "$(json_field apiKey <<<"$m")" -secret "$(json_field apiSecret <<<"$m")" -provider "$(json_field providerId <<<"$m")" \
		-cert "$(json_field providerCertificate <<<"$m")" -orders "$PAY_ORDERS" -out "$work/$name.orders" -token-out "$work/$name.token" 2>&2 ||
		die "$name: sagaprep failed"
	local tok
	tok=$(cat "$work/$name.token")
	BENCH_ORDERS="$work/$name.orders" BENCH_TOKEN="$tok" bench "$name" "$pid" -s "$here/wrk/payments.lua" "http://$addr/"
	# How far the terminal's completions were behind when the load stopped,
	# and how long they took to catch up.
	local started done0 t0 waited=0
	started=$(curl -s "http://$addr/metrics" | awk '/^jeton_http_requests_total\{code="201",route="POST \/payments"\}/ { print $NF }')
	done0=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $tok" "http://$addr/transactions" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-items" { print $2 }')
	t0=$(date +%s.%N)
	while :; do
		local now
		now=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $tok" "http://$addr/transactions" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-items" { print $2 }')
		[[ ${now:-0} -ge ${started%.*} ]] && break
		waited=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		awk -v w="$waited" 'BEGIN { exit !(w > 60) }' && break
		sleep 0.2
	done
	pay_notes+=("$name: ${started%.*} payments started (warm-up included); $((${started%.*} - ${done0:-0})) not completed yet when the load stopped; all completed ${waited} s later")
	server_checks "$name" "$pid" "$addr" "POST /payments"
	stop "$pid"
	forget "$pid"
}
payments_case pay-sqlite -- --data "$work/pay-sqlite-data"
if [[ -n $PG_URL ]]; then
	pg_pay_db="jeton_bench_pay_${stamp//-/_}_$$"
	psql "$PG_URL" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$pg_pay_db\"" >/dev/null
	base=${PG_URL%%\?*} query=""
	[[ $PG_URL == *\?* ]] && query="?${PG_URL#*\?}"
	scheme=${base%%://*} rest=${base#*://}
	pg_pay_url="$scheme://${rest%%/*}/$pg_pay_db$query"
	payments_case pay-postgres JETON_MASTER_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" -- --database-url "$pg_pay_url"
else
	log "pay-postgres skipped: set JETON_BENCH_DATABASE_URL (or JETON_TEST_DATABASE_URL) to run it"
fi

# -------------------------------------------------------------- report

floor_rps=${rps[0]}
fail=0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# target TEXT OK: print one target line; OK is 1 (met) or 0.
target() {
	if [[ $2 == 1 ]]; then
		printf '  PASS  %s\n' "$1"
	else
		printf '  FAIL  %s\n' "$1"
		fail=1
	fi
}

index_of() {
	local i
	for i in "${!names[@]}"; do
		[[ ${names[$i]} == "$1" ]] && { echo "$i"; return; }
	done
	die "no result named $1"
}

report() {
	echo "jeton whole-server load benchmarks ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo
	echo "machine     $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
	echo "go          $(go version | awk '{ print $3, $4 }')"
	echo "source      $src_commit; sha256 of the module's .go files (bench/ excluded): $src_digest"
	echo "generator   $(wrk -v 2>&1 | head -n1 | awk '{ print $1, $2 }'): wrk -t$THREADS -c$CONNS -d$DURATION after a $WARMUP warm-up, on 127.0.0.1"
	echo "background  $background of $ncpu cores busy during the 2 s before the first run (0 = quiet machine)"
	echo "servers     GOMAXPROCS unset (= $(nproc)); wrk and every server share the same $(nproc) cores${pg_version:+, and so does PostgreSQL $pg_version}"
	echo "POST load   $IDS distinct Steam IDs, cycled (the warm-up inserts them, the measured run updates them)"
	echo
	printf '%-14s %9s %8s %7s %7s %6s %6s %9s %9s\n' benchmark 'req/s' 'x floor' 'p50 ms' 'p99 ms' 'wrk' 'server' 'peak RSS' 'run RSS'
	printf '%-14s %9s %8s %7s %7s %6s %6s %9s %9s\n' '' '' '' '' '' 'non2xx' 'non2xx' 'MB' 'MB'
	local i
	for i in "${!names[@]}"; do
		printf '%-14s %9.0f %8s %7s %7s %6s %6s %9s %9s\n' "${names[$i]}" "${rps[$i]}" "$(ratio "${rps[$i]}" "$floor_rps")" \
			"${p50[$i]}" "${p99[$i]}" "${wrk_bad[$i]}" "${srv_bad[$i]}" "$(mb "${hwm[$i]}")" "$(mb "${rssmax[$i]}")"
	done
	echo
	echo "where the CPU went during each measured run, in cores (of $ncpu; 1.00 = one core for the whole run)"
	echo "and per request: CPU microseconds the server and wrk spent per completed request"
	echo "(the kernel's loopback networking is mostly charged to the process whose system call ran it;"
	echo " other = every other process, and interrupt time charged to no process)"
	printf '%-14s %7s %7s %9s %7s %7s %14s %11s\n' benchmark server wrk postgres other idle 'server us/req' 'wrk us/req'
	for i in "${!names[@]}"; do
		# shellcheck disable=SC2086
		set -- ${cpu[$i]}
		printf '%-14s %7s %7s %9s %7s %7s %14s %11s\n' "${names[$i]}" "$@" \
			"$(awk -v c="$1" -v r="${rps[$i]}" 'BEGIN { printf "%.1f", c * 1e6 / r }')" \
			"$(awk -v c="$2" -v r="${rps[$i]}" 'BEGIN { printf "%.1f", c * 1e6 / r }')"
	done
	echo
	echo "floor-matched  the floor server answering a $me_size-byte body (as large as /client/me's) to requests"
	echo "               carrying the same Authorization header: a diagnostic, not a target"
	echo "wrk non2xx     responses wrk got with status >= 400, plus socket errors (connect/read/write/timeout)"
	echo "server non2xx  jeton's own jeton_http_requests_total for the route with a non-2xx code, over the"
	echo "               server's life, minus requests cut when wrk stopped (client gone, the 500 never sent):"
	for i in "${!names[@]}"; do
		[[ ${gone[$i]} == - ]] || echo "                 ${names[$i]}: ${gone[$i]} cut"
	done
	echo "peak RSS       VmHWM of the server process at the end (start-up + warm-up + measured run)"
	echo "run RSS        largest VmRSS sampled every 200 ms during the measured run"
	echo "rows           clients rows after the runs: sqlite $sqlite_rows${pg_version:+, postgres ${pg_rows:-?}}"
	echo "payments       the virtual terminal completes each payment after its POST (a second write):"
	local note
	for note in ${pay_notes[@]+"${pay_notes[@]}"}; do
		echo "                 $note"
	done
	echo
	echo "targets"
	local r me_rps as_rps
	me_rps=${rps[$(index_of me)]} as_rps=${rps[$(index_of auth-sqlite)]}
	r=$(ratio "$me_rps" "$floor_rps")
	target "GET /client/me >= $TARGET_ME_RATIO x floor: $r" "$(awk -v r="$r" -v t="$TARGET_ME_RATIO" 'BEGIN { print (r >= t) ? 1 : 0 }')"
	target "POST /auth/authenticate-client on SQLite >= $TARGET_AUTH_RPS req/s: $as_rps" \
		"$(awk -v r="$as_rps" -v t="$TARGET_AUTH_RPS" 'BEGIN { print (r >= t) ? 1 : 0 }')"
	local pay_rps=${rps[$(index_of pay-sqlite)]}
	target "POST /payments on SQLite >= $TARGET_PAY_RPS req/s: $pay_rps ($(ratio "$pay_rps" "$floor_rps") x floor)" \
		"$(awk -v r="$pay_rps" -v t="$TARGET_PAY_RPS" 'BEGIN { print (r >= t) ? 1 : 0 }')"
	for i in "${!names[@]}"; do
		[[ ${names[$i]} == floor* ]] && continue
		target "${names[$i]}: peak RSS < $TARGET_RSS_MB MB: $(mb "${hwm[$i]}") MB" "$((hwm[i] < TARGET_RSS_MB * 1024 ? 1 : 0))"
	done
	for i in "${!names[@]}"; do
		local s=${srv_bad[$i]}
		[[ $s == - ]] && s=0
		target "${names[$i]}: non-2xx = 0: wrk ${wrk_bad[$i]}, server ${srv_bad[$i]}" "$(((wrk_bad[i] + s) == 0 ? 1 : 0))"
	done
	echo
	echo "raw wrk output of the measured runs"
	for i in "${!names[@]}"; do
		echo "--- ${names[$i]}"
		cat "$work/${names[$i]}.wrk"
	done
	[[ $fail == 0 ]]
}

set +e
if [[ $OUT == - ]]; then
	report
	rc=$?
else
	report >"$work/report.txt"
	rc=$?
	cp "$work/report.txt" "$OUT"
	cat "$work/report.txt"
	log "results written to $OUT"
fi
set -e
if [[ $rc != 0 && $STRICT == 1 ]]; then
	exit 1
fi
exit 0

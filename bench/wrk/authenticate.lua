-- authenticate.lua: wrk script for POST /auth/authenticate-client.
--
-- Every request names a different client, so the server's upserts touch
-- many rows: BENCH_IDS distinct Steam IDs 76561198000000000 + i (i from 0
-- to BENCH_IDS-1, at most 100000), each with the trade URL of that same
-- account (partner = i + 39734272, so no TRADE_URL_NOT_OWNED warning) and
-- clientId "bench-<i>". wrk thread t of BENCH_THREADS sends the ids
-- i = t, t+BENCH_THREADS, ..., so threads never send the same id, and all
-- ids are sent once per BENCH_IDS requests. Requests are formatted once
-- in init(), so the generator spends no time building them under load.
--
-- Environment: BENCH_API_KEY (required: a CORE_ACCESS API key),
-- BENCH_IDS (default 10000), BENCH_THREADS (default 1: wrk's -t).
--
-- done() prints the same BENCH line as report.lua.

-- setup runs in wrk's main Lua state, once per thread before its init;
-- it numbers the threads through the global thread_index of each thread's
-- own state.
local threads_set_up = 0
function setup(thread)
  thread:set("thread_index", threads_set_up)
  threads_set_up = threads_set_up + 1
end

local reqs = {}
local next_req = 1

function init(args)
  local key = os.getenv("BENCH_API_KEY")
  if key == nil or key == "" then
    error("BENCH_API_KEY is not set")
  end
  local n = tonumber(os.getenv("BENCH_IDS") or "10000")
  if n < 1 or n > 100000 then
    error("BENCH_IDS must be 1..100000")
  end
  local step = tonumber(os.getenv("BENCH_THREADS") or "1")
  local headers = { ["Content-Type"] = "application/json", ["api-key"] = key }
  for i = thread_index or 0, n - 1, step do
    local body = string.format(
      '{"clientSteamId":"76561198000%06d",' ..
      '"clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=%d&token=AbCdEfGh",' ..
      '"clientId":"bench-%d",' ..
      '"clientData":{"totalWager":5000,"kycLevel":2,"fiatDeposits":true,"cryptoDeposits":false}}',
      i, 39734272 + i, i)
    reqs[#reqs + 1] = wrk.format("POST", "/auth/authenticate-client", headers, body)
  end
  if #reqs == 0 then
    error("no ids for this thread: BENCH_IDS is smaller than BENCH_THREADS")
  end
end

function request()
  local r = reqs[next_req]
  next_req = next_req + 1
  if next_req > #reqs then
    next_req = 1
  end
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end

-- payments.lua: wrk script for POST /payments, the seed's request, with a
-- client token, each request on an order no payment has started on.
--
-- BENCH_ORDERS names a file of order ids, one a line (bench/sagaprep makes
-- it), BENCH_TOKEN holds the client token of the orders' user, and
-- BENCH_THREADS is wrk's -t. Thread t of BENCH_THREADS takes the ids at
-- lines t, t+BENCH_THREADS, ...; when a thread runs out it starts over,
-- and those repeats answer 409 (counted as non-2xx): make enough orders
-- for the warm-up and the measured run. Each run adds the requests it sent
-- to the file BENCH_ORDERS.used, and the next run (the measured one after
-- the warm-up) skips that many orders, so no order is paid twice.
--
-- done() prints the same BENCH line as report.lua.

local threads_set_up = 0
function setup(thread)
  thread:set("thread_index", threads_set_up)
  threads_set_up = threads_set_up + 1
end

local reqs = {}
local next_req = 1

function init(args)
  local tok = os.getenv("BENCH_TOKEN")
  local file = os.getenv("BENCH_ORDERS")
  if tok == nil or tok == "" or file == nil or file == "" then
    error("BENCH_TOKEN and BENCH_ORDERS must be set")
  end
  local step = tonumber(os.getenv("BENCH_THREADS") or "1")
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tok }
  local skip = used(file) + 1000 * step -- the requests cut at the end are a few per connection
  local i = 0
  for id in io.lines(file) do
    if i >= skip and i % step == (thread_index or 0) then
      reqs[#reqs + 1] = wrk.format("POST", "/payments", headers, '{"orderId": "' .. id .. '", "paymentMethod": "CARD"}')
    end
    i = i + 1
  end
  if #reqs == 0 then
    error("no orders for this thread")
  end
end

-- used reads how many orders earlier runs took.
function used(file)
  local f = io.open(file .. ".used", "r")
  if f == nil then
    return 0
  end
  local n = f:read("*n") or 0
  f:close()
  return n
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
  local file = os.getenv("BENCH_ORDERS")
  local n = used(file) + summary.requests + 1000 * tonumber(os.getenv("BENCH_THREADS") or "1")
  local f = io.open(file .. ".used", "w")
  f:write(tostring(n))
  f:close()
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end

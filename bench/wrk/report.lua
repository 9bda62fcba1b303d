-- report.lua: wrk script for static requests (method, URL and headers
-- given on wrk's command line). It adds nothing per request; done() prints
-- one machine-readable line that bench/run.sh parses:
--
--   BENCH requests=N duration_us=N rps=X status_errors=N connect=N read=N
--         write=N timeout=N p50_us=N p99_us=N max_us=N
--
-- status_errors is wrk's own count of responses with status >= 400 (what
-- wrk prints as "Non-2xx or 3xx responses").

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end

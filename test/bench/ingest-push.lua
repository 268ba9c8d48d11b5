-- wrk script of `npm run bench:ingest`: every connection POSTs the profile
-- named by KILN_BENCH_BODY as the raw /ingest body, waits for the answer, and
-- sends the next (a closed loop, like SDKs that each wait for their push).
-- At the end it prints one JSON line for the benchmark to read.
local f = assert(io.open(assert(os.getenv("KILN_BENCH_BODY"), "KILN_BENCH_BODY not set"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\n',
    e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

-- wrk script of the load benchmark (run.py): POSTs one GraphQL request, the same on every
-- connection, and prints wrk's summary as one JSON line that run.py parses.
--
-- WRK_BODY_FILE names the file holding the JSON body. It is read here, at load time, so wrk
-- formats the request once per thread and sends the same bytes every time.

local path = os.getenv("WRK_BODY_FILE")
if path == nil then
  error("set WRK_BODY_FILE to the file holding the request body")
end
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
-- WRK_HEADERS: the request's headers, one `Name: value` per line (Content-Type and Accept
-- among them), as run.py's request_headers gives them for the scenario.
for line in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name ~= nil then
    wrk.headers[name] = value
  end
end

-- Latencies are in microseconds. `status` counts responses with an HTTP status above 399;
-- the others are socket errors (timeouts are requests slower than wrk's --timeout).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end

-- wrk script for bench/webhook-ingest.ts: validly signed Shopify orders/create deliveries, each with an
-- X-Shopify-Event-Id (and X-Shopify-Webhook-Id) of its own, so the inbox stores every one. The body and its
-- X-Shopify-Hmac-Sha256 are the same for every request (the signature covers the body only) and come from
-- the environment: WRK_BODY, WRK_HMAC, WRK_SHOP, WRK_RUN (a prefix that keeps event ids distinct across
-- runs on one inbox). At the end it prints one JSON line: requests, status counts, errors and latency
-- percentiles in microseconds.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  body = os.getenv("WRK_BODY")
  prefix = string.format("%s-%d-", os.getenv("WRK_RUN") or "run", tid or 0)
  headers = {
    ["Content-Type"] = "application/json",
    ["X-Shopify-Topic"] = "orders/create",
    ["X-Shopify-Hmac-Sha256"] = os.getenv("WRK_HMAC"),
    ["X-Shopify-Shop-Domain"] = os.getenv("WRK_SHOP"),
    ["X-Shopify-Api-Version"] = "2026-10",
  }
  ok, other = 0, 0
end

function request()
  local id = prefix .. counter
  counter = counter + 1
  headers["X-Shopify-Event-Id"] = id
  headers["X-Shopify-Webhook-Id"] = id
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local ok_total, other_total = 0, 0
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    other_total = other_total + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"ok2xx":%d,"non2xx":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, ok_total, other_total, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end

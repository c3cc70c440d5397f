#!/usr/bin/env node
// The floor of the n8n bench's job in Node, taken in the same run (bench/n8n.ts, side "baseline"): read
// every page of GET /customers, map the 5 fields, POST each record to /contacts with `concurrency` calls in
// flight (Passerelle's REST default, 4), the next page read while one is written, through undici's `request` as Passerelle's HTTP client does. No
// store, no lineage, no retries, no schema: what any Node tool pays for the HTTP calls alone.
//   node bench/lib/rest-copy-baseline.mjs <api base URL> <page size> [concurrency]
import { request } from "undici";

const [api, pageSizeArg, concurrencyArg] = process.argv.slice(2);
if (!api || !pageSizeArg) {
  console.error("usage: rest-copy-baseline.mjs <api base URL> <page size> [concurrency]");
  process.exit(2);
}
const pageSize = Number(pageSizeArg);
const concurrency = Number(concurrencyArg ?? 4);

async function getJson(path) {
  const res = await request(`${api}${path}`, { headers: { accept: "application/json" } });
  if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}`);
  return res.body.json();
}

async function post(record) {
  const res = await request(`${api}/contacts`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(record),
  });
  if (res.statusCode !== 201) throw new Error(`POST /contacts: HTTP ${res.statusCode}`);
  await res.body.json();
}

const pageAt = (n) => getJson(`/customers?page=${n}&per_page=${pageSize}`);
let posted = 0;
let ahead = pageAt(1);
for (let page = 1; ; page++) {
  const rows = await ahead;
  if (!Array.isArray(rows) || rows.length === 0) break;
  // The next page is read while this one is written, as Passerelle's engine reads ahead.
  ahead = pageAt(page + 1);
  const mapped = rows.map((r) => ({
    email: String(r.email).toLowerCase(),
    first_name: r.first_name,
    last_name: r.last_name,
    company: r.company,
    phone: r.phone,
  }));
  let next = 0;
  const lane = async () => {
    while (next < mapped.length) await post(mapped[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, mapped.length) }, lane));
  posted += mapped.length;
}
console.log(JSON.stringify({ posted }));

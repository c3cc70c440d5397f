/**
 * Deprecation notices read by the shared HTTP client from real answers (a node:http server in the test):
 * RFC 9745 Deprecation, RFC 8594 Sunset and Shopify's header, counted per call site until drained.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { createHttpClient } from "./client.ts";
import { DeprecationLog, headerDate } from "./deprecations.ts";

describe("deprecation notices in answers", () => {
  let url = "";
  const server = createServer((req, res) => {
    if (req.url === "/old") {
      res.writeHead(200, {
        "content-type": "application/json",
        deprecation: "@1767225600",
        sunset: "Fri, 01 Jan 2027 00:00:00 GMT",
        link: '<https://example.com/migrate>; rel="deprecation"',
      });
    } else if (req.url === "/retiring") {
      res.writeHead(200, { "content-type": "application/json", sunset: "Wed, 30 Jun 2027 00:00:00 GMT" });
    } else if (req.url === "/wp") {
      res.writeHead(200, {
        "content-type": "application/json",
        "x-wp-deprecatedparam": "context (since 5.5; use view instead)",
      });
    } else if (req.url === "/warned") {
      res.writeHead(200, {
        "content-type": "application/json",
        warning: '299 api.example "the v1 orders route is deprecated"',
      });
    } else res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  before(async () => {
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const a = server.address();
    if (a === null || typeof a === "string") throw new Error("no port");
    url = `http://127.0.0.1:${a.port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  it("counts them per call site, with the sunset, and starts again after a drain", async () => {
    const http = createHttpClient({ system: "erp", vendor: "Test", baseUrl: url, timeoutMs: 5000 });
    await http.request("GET", "/old", undefined, undefined, { what: "product.list" });
    await http.request("GET", "/old", undefined, undefined, { what: "product.list" });
    await http.request("GET", "/retiring");
    await http.request("GET", "/fine");
    assert.deepEqual(http.deprecations.drain(), [
      {
        site: "GET /old (product.list)",
        reason: "deprecated since 2026-01-01; see https://example.com/migrate",
        sunset: "2027-01-01T00:00:00.000Z",
        count: 2,
      },
      {
        site: "GET /retiring",
        reason: "sunset announced for 2027-06-30",
        sunset: "2027-06-30T00:00:00.000Z",
        count: 1,
      },
    ]);
    assert.deepEqual(http.deprecations.drain(), []);
  });

  it("reads WordPress's deprecation headers and persistent (299) warnings", async () => {
    const http = createHttpClient({ system: "shop", vendor: "Test", baseUrl: url, timeoutMs: 5000 });
    await http.request("GET", "/wp", undefined, undefined, { what: "orders" });
    await http.request("GET", "/warned");
    await http.request("GET", "/wp", undefined, undefined, { what: "orders" });
    assert.deepEqual(http.deprecations.drain(), [
      {
        site: "GET /wp (orders)",
        reason: "WordPress deprecated: context (since 5.5; use view instead)",
        sunset: null,
        count: 2,
      },
      { site: "GET /warned", reason: "the v1 orders route is deprecated", sunset: null, count: 1 },
    ]);
  });

  it("keeps a bounded number of call sites", () => {
    const log = new DeprecationLog(2);
    for (const site of ["a", "b", "c", "d"]) log.note(site, "old", null);
    const seen = log.drain();
    assert.equal(seen.length, 3);
    assert.deepEqual(seen[2], {
      site: "(other)",
      reason: "more call sites than are kept between drains",
      sunset: null,
      count: 2,
    });
  });

  it("reads HTTP dates and RFC 9745 epoch seconds", () => {
    assert.equal(headerDate("@1767225600"), "2026-01-01T00:00:00.000Z");
    assert.equal(headerDate("Fri, 01 Jan 2027 00:00:00 GMT"), "2027-01-01T00:00:00.000Z");
    assert.equal(headerDate("true"), null);
    assert.equal(headerDate(null), null);
  });
});

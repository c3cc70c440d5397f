/**
 * ShopifyClient.request against a real HTTP server on 127.0.0.1 standing in for the Admin API endpoint:
 * what the official client sends, and how each kind of answer comes back (data, the version served and its
 * deprecation notices, a refused token, a 429, a body that is not JSON, no server at all). The answer reaches
 * the official client as a light object rather than a WHATWG Response (client.ts, Answer); these are the
 * behaviours that must not change with it.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { z } from "zod";
import { closedPort } from "../../../test/helpers/net.ts";
import { SyncError } from "../../core/errors.ts";
import { ShopifyClient } from "./client.ts";
import { ShopifyConfig } from "./config.ts";

type Handler = (res: ServerResponse) => void;
const seen: { url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
let next: Handler = (res) => res.writeHead(200).end();
const server = createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (c: string) => {
    body += c;
  });
  req.on("end", () => {
    seen.push({ url: req.url ?? "", headers: req.headers, body });
    next(res);
  });
});
let url = "";
before(async () => {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql.json`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((done) => server.close(() => done()));
});
beforeEach(() => {
  seen.length = 0;
});

const QUERY = "query Shop { shop { name } }";
const Shape = z.object({ shop: z.object({ name: z.string() }) });
const client = (endpoint = url) =>
  new ShopifyClient(
    "shopify",
    ShopifyConfig.parse({
      shop: "example.myshopify.com",
      accessToken: "shpat_secret",
      endpoint,
      apiVersion: "2025-07",
    }),
  );
const answer =
  (status: number, headers: Record<string, string>, body: string): Handler =>
  (res) =>
    res.writeHead(status, headers).end(body);

async function failure(p: Promise<unknown>): Promise<SyncError> {
  const err = await p.then(
    () => assert.fail("expected a failure"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

describe("shopify client: requests and answers", () => {
  test("sends the official client's request; returns data, notes the version served and its notices", async () => {
    next = answer(
      200,
      {
        "content-type": "application/json",
        "x-shopify-api-version": "2025-10",
        "x-shopify-api-deprecated-reason": "https://shopify.dev/changelog/x",
      },
      JSON.stringify({ data: { shop: { name: "Example" } } }),
    );
    const c = client();
    assert.deepEqual(await c.request(QUERY, { a: 1 }, Shape), { shop: { name: "Example" } });
    const [req] = seen;
    assert.ok(req);
    assert.deepEqual(JSON.parse(req.body), { query: QUERY, variables: { a: 1 } });
    assert.equal(req.headers["x-shopify-access-token"], "shpat_secret");
    assert.equal(req.headers["content-type"], "application/json");
    assert.equal(req.headers.accept, "application/json");
    assert.match(String(req.headers["user-agent"]), /^Passerelle \| Admin API Client/);
    assert.equal(c.servedVersion, "2025-10");
    const notices = c.deprecations.drain().map((d) => d.reason);
    assert.ok(
      notices.some((r) => r.includes("https://shopify.dev/changelog/x")),
      JSON.stringify(notices),
    );
    assert.ok(
      notices.some((r) => r.includes("asked for API version 2025-07")),
      JSON.stringify(notices),
    );
  });

  test("a refused token is a config error; a 429 is rate_limited with its Retry-After", async () => {
    next = answer(401, { "content-type": "application/json" }, '{"errors":"[API] Invalid API key"}');
    const refused = await failure(client().request(QUERY, {}, Shape));
    assert.equal(refused.kind, "config");
    assert.equal(refused.details.status, 401);
    next = answer(429, { "retry-after": "2" }, "");
    const c = client();
    const limited = await failure(c.request(QUERY, {}, Shape));
    assert.equal(limited.kind, "rate_limited");
    assert.equal(limited.details.retryAfterMs, 2_000);
    assert.equal(c.throttled, 1);
  });

  test("a body that is not JSON is retryable after a 200, permanent after a 4xx", async () => {
    next = answer(200, { "content-type": "application/json" }, "<html>gateway</html>");
    const ok = await failure(client().request(QUERY, {}, Shape));
    assert.equal(ok.kind, "retryable");
    assert.match(ok.message, /HTTP 200 with an unreadable body/);
    next = answer(404, { "content-type": "text/html" }, "<html>not found</html>");
    const missing = await failure(client().request(QUERY, {}, Shape));
    assert.equal(missing.kind, "permanent");
    assert.match(missing.message, /HTTP 404 with an unreadable body/);
  });

  test("GraphQL errors are permanent and carry the vendor's words", async () => {
    next = answer(
      200,
      { "content-type": "application/json" },
      JSON.stringify({ errors: [{ message: "Field 'nope' doesn't exist" }] }),
    );
    const err = await failure(client().request(QUERY, {}, Shape));
    assert.equal(err.kind, "permanent");
    assert.match(err.message, /Field 'nope' doesn't exist/);
  });

  test("no server: the HTTP client's classified network error, not the official client's wrapper", async () => {
    const err = await failure(
      client(`http://127.0.0.1:${await closedPort()}/graphql.json`).request(QUERY, {}, Shape),
    );
    assert.equal(err.kind, "retryable");
    assert.equal(err.details.system, "shopify");
    assert.doesNotMatch(err.message, /Shopify is unreachable/);
  });
});

/**
 * The shared HTTP client against a real HTTP server on 127.0.0.1 (node:http): every request below crosses
 * a socket. Waits between retries go through an injected sleep that records the delay and returns at
 * once, so the tests assert on the delays asked for, never on timing.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { z } from "zod";
import { closedPort } from "../../../test/helpers/net.ts";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClientOptions, type HttpLogLine } from "./client.ts";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A server whose next answers are queued per test; every request is recorded. */
class TestServer {
  readonly requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] =
    [];
  readonly #answers: Handler[] = [];
  #fallback: Handler = (_req, _body, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  readonly #server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      (this.#answers.shift() ?? this.#fallback)(req, body, res);
    });
  });
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((done) => this.#server.listen(0, "127.0.0.1", done));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((done) => this.#server.close(() => done()));
  }

  reset(): void {
    this.requests.length = 0;
    this.#answers.length = 0;
    this.#fallback = (_req, _body, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
  }

  answer(...handlers: Handler[]): this {
    this.#answers.push(...handlers);
    return this;
  }

  always(handler: Handler): this {
    this.#fallback = handler;
    return this;
  }
}

const status =
  (code: number, headers: Record<string, string> = {}, body = ""): Handler =>
  (_req, _body, res) =>
    res.writeHead(code, headers).end(body);
const json =
  (value: unknown): Handler =>
  (_req, _body, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));

async function failure(p: Promise<unknown>): Promise<SyncError> {
  const err = await p.then(
    () => assert.fail("expected a failure"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SyncError, `expected a SyncError, got ${String(err)}`);
  return err;
}

const server = new TestServer();
before(() => server.start());
after(() => server.stop());
beforeEach(() => server.reset());

/** A client of the test server whose sleeps are recorded in `slept` instead of waited. */
function client(over: Partial<HttpClientOptions> = {}) {
  const slept: number[] = [];
  const http = createHttpClient({
    system: "erp",
    vendor: "Example",
    baseUrl: server.url,
    timeoutMs: 5_000,
    retry: { attempts: 4, baseMs: 100, maxMs: 1_000 },
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...over,
  });
  return { http, slept };
}

describe("http client: retries", () => {
  test("Retry-After in seconds is the wait before the retry", async () => {
    server.answer(status(503, { "retry-after": "2" }), json({ ok: true }));
    const { http, slept } = client();
    assert.deepEqual(await http.request("GET", "/items", undefined, z.object({ ok: z.boolean() })), {
      ok: true,
    });
    assert.deepEqual(slept, [2_000]);
    assert.equal(server.requests.length, 2);
    assert.equal(http.stats().retries, 1);
  });

  test("Retry-After as an HTTP date is read against the clock", async () => {
    const now = Date.parse("2026-12-03T10:00:00Z");
    server.answer(status(429, { "retry-after": new Date(now + 7_000).toUTCString() }), json({}));
    const { http, slept } = client({ now: () => now });
    await http.request("GET", "/items");
    assert.deepEqual(slept, [7_000]);
    assert.equal(http.stats().throttled, 1);
  });

  test("a Retry-After longer than the cap is cut to the cap", async () => {
    server.answer(status(503, { "retry-after": "3600" }), json({}));
    const { http, slept } = client({
      retry: { attempts: 2, baseMs: 100, maxMs: 1_000, maxRetryAfterMs: 30_000 },
    });
    await http.request("GET", "/items");
    assert.deepEqual(slept, [30_000]);
  });

  test("without Retry-After the waits are full jitter: random × min(maxMs, baseMs·2^n)", async () => {
    server.always(status(502));
    const { http, slept } = client({ random: () => 0.5 });
    const err = await failure(http.request("GET", "/items"));
    assert.equal(err.kind, "retryable");
    assert.equal(err.details.status, 502);
    assert.equal(server.requests.length, 4, "attempts caps the tries");
    assert.deepEqual(slept, [50, 100, 200]);
    const zero = client({ random: () => 0 });
    await failure(zero.http.request("GET", "/items"));
    assert.deepEqual(zero.slept, [0, 0, 0], "full jitter reaches down to no wait at all");
    const capped = client({ random: () => 0.999, retry: { attempts: 6, baseMs: 100, maxMs: 300 } });
    await failure(capped.http.request("GET", "/items"));
    assert.ok(
      capped.slept.every((ms) => ms < 300),
      `maxMs caps every wait: ${capped.slept}`,
    );
  });

  test("a POST is not retried on a 503 unless it is marked retry-safe", async () => {
    server.always(status(503));
    const { http, slept } = client();
    const err = await failure(http.request("POST", "/orders", { sku: "A" }));
    assert.equal(err.kind, "retryable");
    assert.equal(server.requests.length, 1);
    assert.deepEqual(slept, []);

    server.reset();
    server.answer(status(503), json({ rows: [] }));
    assert.deepEqual(
      await client().http.request("POST", "/search", { q: 1 }, undefined, { retrySafe: true }),
      {
        rows: [],
      },
    );
    assert.equal(server.requests.length, 2);
  });

  test("a 500 or a 4xx is not retried even when the call is safe", async () => {
    server.answer(status(500), status(400));
    const { http } = client();
    assert.equal((await failure(http.request("GET", "/a"))).kind, "retryable");
    assert.equal((await failure(http.request("GET", "/a"))).kind, "permanent");
    assert.equal(server.requests.length, 2);
  });

  test("a refused connection is retried for a safe call, then reported naming system, method and path", async () => {
    const port = await closedPort();
    const { http, slept } = client({ baseUrl: `http://127.0.0.1:${port}` });
    const err = await failure(http.request("GET", "/items", undefined, undefined, { what: "items.list" }));
    assert.equal(err.kind, "retryable");
    assert.equal(err.details.system, "erp");
    assert.match(
      err.message,
      /cannot reach Example at http:\/\/127\.0\.0\.1:\d+ \(connection erp\) for GET \/items \(items\.list\) \(ECONNREFUSED\)/,
    );
    assert.equal(slept.length, 3);
  });
});

describe("http client: classification", () => {
  test("a call that gets no answer within timeoutMs is a retryable timeout naming the call", async () => {
    server.always(() => {
      // Never answer; the server's closeAllConnections ends it.
    });
    const { http } = client({ timeoutMs: 200, retry: { attempts: 1, baseMs: 0, maxMs: 0 } });
    const err = await failure(http.request("GET", "/slow"));
    assert.equal(err.kind, "retryable");
    assert.match(
      err.message,
      /Example at http:\/\/127\.0\.0\.1:\d+ \(connection erp\) did not answer GET \/slow within 200 ms/,
    );
  });

  test("an answer's headers read as the server sent them: a repeated header joined, cookies apart", async () => {
    server.answer((_req, _body, res) => {
      res.setHeader("Set-Cookie", ["B1SESSION=abc; path=/", "ROUTEID=.node1; path=/"]);
      res.setHeader("Link", ['</items?page=2>; rel="next"', '</items?page=9>; rel="last"']);
      res.setHeader("X-Total-Pages", "9");
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    const { http } = client();
    const res = await http.send("GET", "/items");
    assert.equal(res.headers.get("x-total-pages"), "9");
    assert.equal(res.headers.get("LINK"), '</items?page=2>; rel="next", </items?page=9>; rel="last"');
    assert.equal(res.headers.has("Content-Type"), true);
    assert.equal(res.headers.get("retry-after"), null);
    assert.deepEqual(res.headers.getSetCookie(), ["B1SESSION=abc; path=/", "ROUTEID=.node1; path=/"]);
    assert.equal(Object.fromEntries(res.headers.entries())["x-total-pages"], "9");
  });

  test("a call's abort wiring is released when it ends: the caller's signal keeps no listener", async () => {
    const { http } = client();
    const run = new AbortController();
    for (let i = 0; i < 20; i++) await http.send("GET", "/items", { signal: run.signal });
    assert.equal(getEventListeners(run.signal, "abort").length, 0);
    const err = await failure(
      http.send("GET", "/items", { signal: AbortSignal.abort(new Error("stopped before it began")) }),
    );
    assert.match(err.message, /was aborted/);
  });

  test("the caller's abort is reported as an abort, not retried", async () => {
    server.always(() => {});
    const { http, slept } = client();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await failure(
      http.request("GET", "/slow", undefined, undefined, { signal: controller.signal }),
    );
    assert.match(err.message, /was aborted/);
    assert.deepEqual(slept, []);
  });

  test("a caller's abort ends a long Retry-After wait at once", { timeout: 10_000 }, async () => {
    server.always(status(503, { "retry-after": "60" }));
    const http = createHttpClient({
      system: "erp",
      vendor: "Example",
      baseUrl: server.url,
      timeoutMs: 5_000,
      retry: { attempts: 3, baseMs: 100, maxMs: 1_000 },
      // The wait the Retry-After asks for: it says when it begins and only the abort ends it.
      sleep: (ms) => {
        asked.push(ms);
        waiting();
        return new Promise<void>(() => {});
      },
    });
    const asked: number[] = [];
    let waiting!: () => void;
    const began = new Promise<void>((r) => {
      waiting = r;
    });
    const controller = new AbortController();
    const call = http.request("GET", "/busy", undefined, undefined, { signal: controller.signal });
    // Aborted once the 503 is in and the client waits, not merely once the request reached the server.
    await began;
    assert.deepEqual(asked, [60_000]);
    controller.abort();
    const err = await failure(call);
    assert.equal(err.details.status, 503);
    assert.equal(server.requests.length, 1, "no retry after the abort");
  });

  test("statuses map onto the taxonomy; 429 tells onRateLimit its Retry-After", async () => {
    const events: (number | undefined)[] = [];
    const { http } = client({
      retry: { attempts: 1, baseMs: 0, maxMs: 0 },
      onRateLimit: (e) => events.push(e.retryAfterMs),
    });
    const kinds: Record<number, string> = {
      400: "permanent",
      401: "config",
      403: "config",
      404: "permanent",
    };
    Object.assign(kinds, { 408: "retryable", 429: "rate_limited", 500: "retryable", 504: "retryable" });
    for (const [code, kind] of Object.entries(kinds)) {
      server.answer(status(Number(code), code === "429" ? { "retry-after": "3" } : {}));
      const err = await failure(http.request("GET", "/x"));
      assert.equal(err.kind, kind, `HTTP ${code}`);
      assert.equal(err.details.status, Number(code));
    }
    assert.deepEqual(events, [3_000]);
  });

  test("an answer that does not match the schema is permanent and names the path", async () => {
    server.answer(json({ id: "seven" }));
    const err = await failure(
      client().http.request("GET", "/items/7", undefined, z.object({ id: z.number() })),
    );
    assert.equal(err.kind, "permanent");
    assert.match(err.message, /answer to GET \/items\/7 has an unexpected shape/);
  });
});

describe("http client: auth", () => {
  test("a 401 forgets the session, logs in again once, and the call succeeds", async () => {
    let logins = 0;
    const auth = {
      headers: () => ({ authorization: `Bearer session-${logins || ++logins}` }),
      refresh: () => {
        logins++;
      },
    };
    server.answer(status(401), json({ ok: 1 }));
    const { http } = client({ auth });
    assert.deepEqual(await http.request("GET", "/me"), { ok: 1 });
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      ["Bearer session-1", "Bearer session-2"],
    );
  });

  test("a second 401 after the re-login is a config error; no third try", async () => {
    server.always(status(401));
    const { http } = client({
      auth: { headers: () => ({ authorization: "Bearer nope-nope-nope" }), refresh: () => {} },
    });
    const err = await failure(http.request("GET", "/me"));
    assert.equal(err.kind, "config");
    assert.equal(server.requests.length, 2);
  });
});

describe("http client: secrets", () => {
  const token = "shpat_0123456789abcdef";

  test("a token the vendor echoes never reaches the error or a logged line", async () => {
    server.always((req, _body, res) =>
      res.writeHead(400, { "content-type": "text/plain" }).end(`bad token ${req.headers["x-api-key"]}`),
    );
    const lines: HttpLogLine[] = [];
    const { http } = client({ redact: [token], log: (line) => lines.push(line) });
    const err = await failure(
      http.request("GET", "/x", undefined, undefined, { headers: { "x-api-key": token } }),
    );
    assert.equal(server.requests[0]?.headers["x-api-key"], token, "the token was sent");
    const seen = JSON.stringify({ message: err.message, details: err.toJSON(), lines });
    assert.ok(!seen.includes(token), seen);
    assert.match(String(err.details.vendorBody), /bad token \[redacted\]/);
    assert.equal(lines.length, 1);
  });

  test("a session the auth hook hands out is redacted from then on, without being configured", async () => {
    const session = "sess-9f8e7d6c5b4a";
    server.always((req, _body, res) =>
      res.writeHead(503).end(`overloaded; your ${req.headers.authorization}`),
    );
    const lines: HttpLogLine[] = [];
    const { http } = client({
      auth: { headers: () => ({ authorization: `Session ${session}` }) },
      retry: { attempts: 2, baseMs: 1, maxMs: 1 },
      log: (line) => lines.push(line),
    });
    const err = await failure(http.request("GET", "/x"));
    assert.equal(lines.length, 2, "one retry line, one failure line");
    const seen = JSON.stringify({ message: err.message, details: err.toJSON(), lines });
    assert.ok(!seen.includes(session), seen);
  });

  test("basic-auth credentials in the base URL never show", async () => {
    const { http } = client({ baseUrl: server.url.replace("http://", "http://admin:hunter2-pw@") });
    const err = await failure(http.request("GET", "/x"));
    assert.ok(!JSON.stringify({ m: err.message, d: err.toJSON() }).includes("hunter2-pw"), err.message);
  });
});

describe("http client: latency statistics", () => {
  test("p50, p95, p99 and count per operation; memory stays the same however many calls", async () => {
    const { http } = client({ latency: { samples: 32, maxKeys: 4 } });
    for (let i = 0; i < 200; i++) await http.request("GET", `/items`, undefined, undefined, { key: "items" });
    const footprint = http.latency.footprint;
    for (let i = 0; i < 300; i++) await http.request("GET", `/items/${i}`);
    const s = http.stats();
    assert.equal(s.calls, 500);
    assert.equal(s.latency.items?.count, 200);
    const items = s.latency.items;
    assert.ok(items && items.p50 <= items.p95 && items.p95 <= items.p99 && items.p99 <= items.max);
    // 300 distinct paths: 3 more named operations, then one shared "(other)".
    assert.equal(http.latency.keys, 5);
    assert.equal(http.latency.footprint, footprint + 4 * 32);
  });

  test("counting calls does not summarise latency; the summary is made when read, once", async () => {
    const { http } = client();
    for (let i = 0; i < 3; i++) await http.request("GET", "/items");
    let summarised = 0;
    const summary = http.latency.summary.bind(http.latency);
    http.latency.summary = () => {
      summarised++;
      return summary();
    };
    const s = http.stats();
    assert.equal(s.calls + http.stats().calls, 6);
    assert.equal(summarised, 0);
    assert.equal(s.latency["GET /items"]?.count, 3);
    assert.equal(s.latency["GET /items"]?.count, 3);
    assert.equal(summarised, 1);
    // Spread, as a connector extends the stats, it carries the summary.
    assert.equal({ ...http.stats(), throttled: 0 }.latency["GET /items"]?.count, 3);
  });

  test("after 100,000 calls the statistics hold no more numbers than after the first thousand", async () => {
    const { LatencyStats } = await import("./latency.ts");
    const stats = new LatencyStats({ samples: 256, maxKeys: 8 });
    let afterThousand = 0;
    for (let i = 0; i < 100_000; i++) {
      stats.record(`op-${i % 20}`, i % 997);
      if (i === 999) afterThousand = stats.footprint;
    }
    assert.equal(stats.footprint, afterThousand);
    assert.equal(stats.keys, 9);
    const summary = stats.summary();
    assert.equal(
      Object.values(summary).reduce((n, s) => n + s.count, 0),
      100_000,
    );
    const other = summary["(other)"];
    assert.ok(other && other.max === 996 && other.p50 > 300 && other.p50 < 700, JSON.stringify(other));
  });
});

describe("http client: fetch-shaped calls", () => {
  test("headers given as a plain object are sent as Headers would send them", async () => {
    // Shopify's official client passes a plain object on every call; it is read without building Headers,
    // so its names, repeated names and padded values must come out as Headers lists them.
    const { http } = client();
    const given = { "X-Token": " \t abc ", "x-token": "def", Accept: "application/json" };
    const seen: Record<string, string | undefined>[] = [];
    for (const headers of [given, new Headers(given)]) {
      const res = await http.exchange(`${server.url}/graphql.json`, { method: "POST", body: "{}", headers });
      assert.equal(res.status, 200);
      const h = server.requests.at(-1)?.headers ?? {};
      seen.push({ token: h["x-token"] as string, accept: h.accept, type: h["content-type"] });
    }
    assert.deepEqual(seen[0], {
      token: "abc, def",
      accept: "application/json",
      type: "text/plain;charset=UTF-8",
    });
    assert.deepEqual(seen[0], seen[1]);
  });

  test("exchange hands back any status with its headers and body; fetch wraps the same in a Response", async () => {
    const { http } = client();
    server.answer(
      status(404, { "content-type": "application/json", "x-request-id": "r1" }, '{"errors":"Not Found"}'),
      status(404, { "content-type": "application/json", "x-request-id": "r2" }, '{"errors":"Not Found"}'),
    );
    const raw = await http.exchange(`${server.url}/missing`, { method: "GET" });
    assert.deepEqual(
      [raw.status, raw.headers.get("X-Request-Id"), JSON.parse(raw.text())],
      [404, "r1", { errors: "Not Found" }],
    );
    const res = await http.fetch(`${server.url}/missing`, { method: "GET" });
    assert.deepEqual(
      [res.status, res.ok, res.headers.get("x-request-id"), await res.json()],
      [404, false, "r2", { errors: "Not Found" }],
    );
  });
});

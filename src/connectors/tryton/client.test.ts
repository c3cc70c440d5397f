import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { SyncError } from "../../core/errors.ts";
import { classifyRpcError, classifyStatus, TrytonClient } from "./client.ts";
import { TrytonConfig } from "./config.ts";
import { priceListGroup } from "./context.ts";
import { documentRef } from "./document.ts";
import { ordered } from "./paging.ts";
import { addressOf } from "./streams/customer.ts";

describe("tryton error mapping", () => {
  test("UserError is a permanent refusal naming the call and carrying Tryton's message", () => {
    const err = classifyRpcError(
      ["UserError", ['A value is required for field "Default UOM" in "Product Template".', "", null]],
      "product.template.create for product X-1",
      "erp",
    );
    assert.equal(err.kind, "permanent");
    assert.equal(err.details.system, "erp");
    assert.match(
      err.message,
      /^Tryton rejected product\.template\.create for product X-1: A value is required/,
    );
    assert.deepEqual(err.details.vendorBody, {
      exception: "UserError",
      message: 'A value is required for field "Default UOM" in "Product Template".',
    });
  });

  test("a UserError's description is kept after its message", () => {
    const err = classifyRpcError(
      ["UserError", ["Cannot quote.", "Set a warehouse.", null]],
      "sale.sale.quote",
      "erp",
    );
    assert.match(err.message, /Cannot quote\. — Set a warehouse\./);
  });

  test("login and access errors are configuration errors", () => {
    assert.equal(
      classifyRpcError(["LoginException", ["password", "Password", "password"]], "login", "erp").kind,
      "config",
    );
    assert.equal(
      classifyRpcError(["AccessError", ["You are not allowed"]], "party.party.read", "erp").kind,
      "config",
    );
  });

  test("concurrency and locked-database errors are retryable", () => {
    assert.equal(
      classifyRpcError(["ConcurrencyException", ["Records were modified"]], "x", "erp").kind,
      "retryable",
    );
    assert.equal(classifyRpcError(["database is locked", ""], "x", "erp").kind, "retryable");
  });

  test("an unknown model comes back as a bare exception text: permanent", () => {
    const err = classifyRpcError(["'no.such.model'", ""], "no.such.model.search_read", "erp");
    assert.equal(err.kind, "permanent");
    assert.match(err.message, /'no\.such\.model'/);
  });

  test("HTTP statuses: 401 config (credentials), 429 throttled, 5xx retryable, 404 config", () => {
    const url = "http://erp.local:8000";
    const unauthorized = classifyStatus(401, "login", "erp", url);
    assert.equal(unauthorized.kind, "config");
    assert.match(unauthorized.message, /Tryton at http:\/\/erp\.local:8000 refused the credentials/);
    assert.equal(classifyStatus(429, "x", "erp", url).kind, "rate_limited");
    assert.equal(classifyStatus(503, "x", "erp", url).kind, "retryable");
    assert.equal(classifyStatus(404, "x", "erp", url).kind, "config");
    assert.equal(classifyStatus(400, "x", "erp", url).kind, "permanent");
  });

  test("a password inside the URL never reaches the message", () => {
    const err = classifyStatus(401, "login", "erp", "http://admin:s3cret-pass@erp.local:8000");
    assert.doesNotMatch(err.message, /s3cret-pass/);
  });
});

describe("tryton mapping helpers", () => {
  test("price list names give the customer group", () => {
    assert.deepEqual(priceListGroup("Wholesale"), { code: "wholesale", group: "wholesale" });
    assert.deepEqual(priceListGroup("VIP EUR"), { code: "vip-eur", group: "vip" });
    assert.deepEqual(priceListGroup("Händler (CHF)"), { code: "handler-chf", group: "handler" });
  });

  test("addresses: multi-line streets split, invoice/delivery flags give the type, no country → none", () => {
    const row = {
      id: 1,
      street: "Hauptstraße 1\nHinterhaus",
      city: "Berlin",
      postal_code: "10115",
      "country.": { code: "DE", id: 3 },
      invoice: true,
      delivery: false,
      party_name: "Ada",
    };
    assert.deepEqual(addressOf(row), {
      type: "billing",
      name: "Ada",
      line1: "Hauptstraße 1",
      line2: "Hinterhaus",
      city: "Berlin",
      postalCode: "10115",
      region: undefined,
      country: "DE",
    });
    assert.equal(addressOf({ ...row, "country.": null }), null);
    assert.equal(addressOf({ ...row, invoice: true, delivery: true })?.type, "both");
  });

  test("change index entries come in cursor order from the cursor on, ties broken by id", () => {
    const entries: [number, string][] = [
      [10, "2026-01-01T00:00:01.000Z"],
      [9, "2026-01-01T00:00:01.000Z"],
      [3, "2026-01-01T00:00:00.000Z"],
      [2, "2026-01-01T00:00:02.000Z"],
    ];
    const all = ordered(entries, String, { since: null, signpost: "", pageSize: 10 });
    assert.deepEqual(
      all.map((e) => e.key),
      [3, 9, 10, 2],
    );
    const after = ordered(entries, String, {
      since: { updatedAt: "2026-01-01T00:00:01Z", id: "9" },
      signpost: "",
      pageSize: 10,
    });
    // Inclusive of the cursor's instant: the engine drops what is at or before the cursor itself.
    assert.deepEqual(
      after.map((e) => e.key),
      [9, 10, 2],
    );
  });
});

describe("tryton invoice documents", () => {
  test("a PDF rendering is named on the canonical invoice; an unknown format never is", () => {
    assert.deepEqual(documentRef("erp:account.invoice/7", "pdf"), {
      ref: "erp:account.invoice/7",
      mimeType: "application/pdf",
    });
    assert.equal(documentRef("erp:account.invoice/7", "weird"), undefined);
  });
});

/**
 * The client against a small trytond stand-in on 127.0.0.1 (node:http): just enough JSON-RPC to log in
 * and answer one call, with the statuses a proxy or an expired session give.
 */
describe("tryton client over HTTP", () => {
  const session = "a1b2c3d4e5f6a7b8";
  let sessions = 0;
  let next: { status: number; headers?: Record<string, string> }[] = [];
  const seen: { method: string; authorization: string | undefined }[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    req.on("end", () => {
      const { id, method } = JSON.parse(text) as { id: number; method: string };
      seen.push({ method, authorization: req.headers.authorization });
      const forced = method.startsWith("model.party") ? next.shift() : undefined;
      if (forced) {
        res.writeHead(forced.status, forced.headers ?? {}).end();
        return;
      }
      const result =
        method === "common.db.login"
          ? [1, `${session}-${++sessions}`]
          : method.endsWith("get_preferences")
            ? {}
            : 7;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id, result }));
    });
  });
  let client: TrytonClient;

  before(async () => {
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as AddressInfo;
    client = new TrytonClient(
      TrytonConfig.parse({
        url: `http://127.0.0.1:${port}`,
        db: "erp",
        username: "admin",
        password: "pw-123456",
      }),
      "erp",
    );
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  test("a 429's Retry-After (seconds or a date) is the wait the error asks for", async () => {
    next = [{ status: 429, headers: { "retry-after": "7" } }];
    const err = await client.model("party.party", "search_count", [[]]).then(
      () => assert.fail("expected a failure"),
      (e: unknown) => e as SyncError,
    );
    assert.equal(err.kind, "rate_limited");
    assert.equal(err.details.retryAfterMs, 7_000);
    next = [{ status: 429, headers: { "retry-after": new Date(Date.now() + 120_000).toUTCString() } }];
    const dated = await client.model("party.party", "search_count", [[]]).catch((e: SyncError) => e);
    const ms = (dated as SyncError).details.retryAfterMs ?? 0;
    assert.ok(ms > 55_000 && ms <= 60_000, `a date two minutes ahead is capped at 60 s, got ${ms}`);
    next = [{ status: 429 }];
    const bare = await client.model("party.party", "search_count", [[]]).catch((e: SyncError) => e);
    assert.equal((bare as SyncError).details.retryAfterMs, 5_000, "no Retry-After: Tryton's default pause");
  });

  test("an expired session (401) logs in again once and the call goes through", async () => {
    await client.login();
    const before = sessions;
    seen.length = 0;
    next = [{ status: 401 }];
    assert.equal(await client.model("party.party", "search_count", [[]]), 7);
    assert.equal(sessions, before + 1);
    assert.deepEqual(
      seen.map((s) => s.method),
      [
        "model.party.party.search_count",
        "common.db.login",
        "model.res.user.get_preferences",
        "model.party.party.search_count",
      ],
    );
    assert.notEqual(seen[0]?.authorization, seen[3]?.authorization, "the retry carries the new session");
  });

  test("latencies are kept per method, bounded, and the session never shows in an error", async () => {
    next = [{ status: 400 }];
    const err = await client.model("party.party", "search_count", [[]]).catch((e: SyncError) => e);
    assert.ok(!JSON.stringify((err as SyncError).toJSON()).includes(session));
    const latencies = client.latencies;
    assert.ok((latencies.get("model.party.party.search_count")?.length ?? 0) >= 1);
    assert.ok([...latencies.values()].every((list) => list.length <= 512));
    assert.equal(client.stats().latency["common.db.login"]?.count, sessions);
  });
});

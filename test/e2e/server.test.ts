/**
 * `passerelle run` as a user runs it: the real CLI in a child process, the emulators in this process. The
 * shop's order webhooks reach the server, are stored and acknowledged, and the order ends in the ERP;
 * a redelivered event is processed once; bad requests are refused with a short reason and store nothing
 * while the server keeps serving; `webhooks register` is idempotent; SIGTERM stops it with exit 0.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { placeOrders } from "@passerelle/emulators";
import { rng } from "../../src/core/prng.ts";
import type { WebhookInbox } from "../../src/ports/inbox.ts";
import type { Store } from "../../src/ports/store.ts";
import { openStore } from "../../src/store/index.ts";
import { explain, hasStackTrace, json, leakedSecrets, ROOT, startWorld, type World } from "./helpers.ts";
import { odooSalesByRef } from "./state.ts";

const DEADLINE_MS = 60_000;

async function until<T>(what: string, probe: () => T | null | Promise<T | null>): Promise<T> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("passerelle run (webhook server, workers) through the CLI", () => {
  let world: World;
  let child: ChildProcess;
  let stderr = "";
  let stdout = "";
  let base = "";
  let secret = "";
  let store: Store;
  let inbox: WebhookInbox;
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  before(async () => {
    world = await startWorld({ products: 10 });
    secret = world.env.SHOPIFY_WEBHOOK_SECRET as string;
    assert.ok(secret, "the demo systems export SHOPIFY_WEBHOOK_SECRET");
    const setup = await world.cli(["sync", "products", "prices", "stock", "customers"]);
    assert.equal(setup.code, 0, explain(setup));
    child = spawn(process.execPath, [join(ROOT, "bin/passerelle-src.mjs"), "run", "--port", "0"], {
      cwd: ROOT,
      env: world.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    exit = new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
    base = await until("the server to listen", () => {
      if (child.exitCode !== null) throw new Error(`passerelle run exited early:\n${stderr}`);
      return /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1] ?? null;
    });
    store = await openStore(world.storeUrl);
    inbox = store.openInbox();
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exit;
    }
    await store?.close();
    await world?.close();
  });

  const hook = (connection: string) => `${base}/webhooks/${connection}`;

  /** A delivery as Shopify sends it, signed with the connection's webhook secret. */
  function shopifyDelivery(
    payload: Record<string, unknown>,
    eventId: string,
  ): { body: string; headers: Record<string, string> } {
    const body = JSON.stringify(payload);
    return {
      body,
      headers: {
        "content-type": "application/json",
        "x-shopify-topic": "orders/create",
        "x-shopify-hmac-sha256": createHmac("sha256", secret).update(body).digest("base64"),
        "x-shopify-shop-domain": world.systems.shopify.shop,
        "x-shopify-api-version": "2026-10",
        "x-shopify-webhook-id": randomUUID(),
        "x-shopify-event-id": eventId,
        "x-shopify-triggered-at": new Date().toISOString(),
      },
    };
  }

  async function post(url: string, body: string, headers: Record<string, string>) {
    const res = await fetch(url, { method: "POST", headers, body });
    return { status: res.status, text: await res.text() };
  }

  it("answers GET /healthz", async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("webhooks register twice leaves one subscription per topic", async () => {
    const register = () =>
      world.cli(["webhooks", "register", "shopify", "--address", hook("shopify"), "--json"]);
    const first = await register();
    assert.equal(first.code, 0, explain(first));
    const created = (json(first) as { created: { topic: string }[] }).created;
    assert.ok(
      created.some((s) => s.topic === "ORDERS_CREATE"),
      explain(first),
    );
    const second = await register();
    assert.equal(second.code, 0, explain(second));
    const again = json(second) as { created: unknown[]; existing: unknown[] };
    assert.equal(again.created.length, 0, explain(second));
    assert.equal(again.existing.length, created.length);
    const subs = [...world.systems.shopify.webhooks.subscriptions.values()].filter(
      (s) => s.uri === hook("shopify"),
    );
    assert.equal(subs.length, created.length);
    assert.equal(new Set(subs.map((s) => s.topic)).size, subs.length, "one subscription per topic");
    const list = await world.cli(["webhooks", "list", "shopify", "--json"]);
    assert.equal(list.code, 0, explain(list));
    assert.equal((json(list) as { subscriptions: unknown[] }).subscriptions.length, subs.length);
  });

  it("webhooks register on a connection without webhook support: exit 2 naming it", async () => {
    const res = await world.cli(["webhooks", "register", "odoo", "--address", hook("odoo")]);
    assert.equal(res.code, 2, explain(res));
    assert.match(res.stderr, /"odoo" \(type odoo\) has no webhook support/);
    assert.ok(!hasStackTrace(res.stderr), res.stderr);
  });

  it("a signed order webhook brings the order into the ERP; its redelivery is processed once", async () => {
    const shop = world.systems.shopify;
    // The shop's own deliveries of this order are lost: only the hand-signed one below can bring it in.
    shop.webhooks.faults = { drop: () => true };
    const [placed] = placeOrders(shop, 1, rng(11));
    shop.webhooks.faults = {};
    assert.ok(placed);
    const order = [...shop.data.orders.values()].find((o) => o.name === placed.name);
    assert.ok(order);
    const ref = `shopify:${placed.name}`;
    assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 0);

    const eventId = randomUUID();
    const delivery = shopifyDelivery(
      {
        id: Number(order.id.slice(order.id.lastIndexOf("/") + 1)),
        admin_graphql_api_id: order.id,
        name: order.name,
        updated_at: order.updatedAt,
      },
      eventId,
    );
    const res = await post(hook("shopify"), delivery.body, delivery.headers);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), { stored: 1, duplicates: 0 });
    const key = `shopify:orders/create:${eventId}`;
    assert.ok(await inbox.byKey("shopify", key), "stored before it was acknowledged");

    await until("the order in the ERP", () => odooSalesByRef(world.systems.odoo, ref).length === 1);
    const processed = await until("the event processed", async () => {
      const e = await inbox.byKey("shopify", key);
      return e?.status === "processed" ? e : null;
    });
    assert.equal(processed.recordId, order.id);

    // The same event again (a vendor retry): acknowledged, dropped, nothing written twice.
    const dup = await post(hook("shopify"), delivery.body, delivery.headers);
    assert.equal(dup.status, 200, dup.text);
    assert.deepEqual(JSON.parse(dup.text), { stored: 0, duplicates: 1 });
    assert.equal((await inbox.list({ connection: "shopify" })).filter((e) => e.dedupeKey === key).length, 1);
    assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 1);
  });

  it("the shop's own deliveries, each sent twice, bring an order in once", async () => {
    const shop = world.systems.shopify;
    shop.webhooks.faults = { duplicate: true };
    const logged = shop.webhooks.log.length;
    const [placed] = placeOrders(shop, 1, rng(12));
    assert.ok(placed);
    await shop.webhooks.settle();
    shop.webhooks.faults = {};
    const sent = shop.webhooks.log.slice(logged);
    assert.ok(sent.length >= 2 && sent.every((l) => l.status === 200), JSON.stringify(sent));
    const ids = [...new Set(sent.map((l) => l.eventId))];
    assert.equal(sent.length, ids.length * 2, "every event delivered twice");
    const ref = `shopify:${placed.name}`;
    await until("the order in the ERP", () => odooSalesByRef(world.systems.odoo, ref).length > 0);
    for (const id of ids) {
      const rows = (await inbox.list({ connection: "shopify" })).filter((e) =>
        e.dedupeKey.endsWith(`:${id}`),
      );
      assert.equal(rows.length, 1, `event ${id} stored once`);
    }
    await until("every event processed", async () =>
      (await inbox.count({ status: "pending" })) === 0 ? true : null,
    );
    assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 1);
  });

  describe("bad requests: 4xx, a short reason, no stack trace, nothing stored, still serving", () => {
    const valid = () =>
      shopifyDelivery({ id: 1, admin_graphql_api_id: "gid://shopify/Order/1" }, randomUUID());
    const signed = (body: string, contentType = "application/json") => {
      const d = valid();
      return {
        body,
        headers: {
          ...d.headers,
          "content-type": contentType,
          "x-shopify-hmac-sha256": createHmac("sha256", secret).update(body).digest("base64"),
        },
      };
    };
    const cases: [
      string,
      number,
      RegExp,
      () => { url: string; body: string; headers: Record<string, string> },
    ][] = [
      ["invalid JSON", 400, /not valid JSON/, () => ({ url: hook("shopify"), ...signed('{"id": 1,') })],
      [
        "wrong content type",
        415,
        /content-type must be application\/json/,
        () => ({ url: hook("shopify"), ...signed('{"id": 1}', "text/plain") }),
      ],
      [
        "oversized body",
        413,
        /larger than/,
        () => ({ url: hook("shopify"), ...signed(JSON.stringify({ pad: "x".repeat(1024 * 1024 + 10) })) }),
      ],
      [
        "unknown connection",
        404,
        /unknown connection "nowhere"/,
        () => ({ url: hook("nowhere"), ...valid() }),
      ],
      [
        "connection that receives no webhooks",
        404,
        /does not receive webhooks/,
        () => ({ url: hook("odoo"), ...valid() }),
      ],
      [
        "missing signature",
        401,
        /missing X-Shopify-Hmac-Sha256/,
        () => {
          const d = valid();
          const { "x-shopify-hmac-sha256": _dropped, ...headers } = d.headers;
          return { url: hook("shopify"), body: d.body, headers };
        },
      ],
      [
        "signature with another secret",
        401,
        /invalid X-Shopify-Hmac-Sha256/,
        () => {
          const d = valid();
          return {
            url: hook("shopify"),
            body: d.body,
            headers: {
              ...d.headers,
              "x-shopify-hmac-sha256": createHmac("sha256", "not-the-secret").update(d.body).digest("base64"),
            },
          };
        },
      ],
      [
        "another shop's delivery, signed with the app's secret",
        403,
        /X-Shopify-Shop-Domain "other-shop\.myshopify\.com" is not this connection's shop/,
        () => {
          const d = valid();
          return {
            url: hook("shopify"),
            body: d.body,
            headers: { ...d.headers, "x-shopify-shop-domain": "other-shop.myshopify.com" },
          };
        },
      ],
      [
        "an event id longer than 255 characters",
        400,
        /X-Shopify-Event-Id must be at most 255 characters, got 256/,
        () => {
          const d = valid();
          return {
            url: hook("shopify"),
            body: d.body,
            headers: { ...d.headers, "x-shopify-event-id": "e".repeat(256) },
          };
        },
      ],
      [
        "an event id with a space",
        400,
        /X-Shopify-Event-Id must be printable ASCII without spaces \(0x21-0x7E\), got "evt 1"/,
        () => {
          const d = valid();
          return {
            url: hook("shopify"),
            body: d.body,
            headers: { ...d.headers, "x-shopify-event-id": "evt 1" },
          };
        },
      ],
    ];
    for (const [name, status, reason, make] of cases) {
      it(name, async () => {
        const before = await inbox.count();
        const req = make();
        const res = await post(req.url, req.body, req.headers);
        assert.equal(res.status, status, res.text);
        const body = JSON.parse(res.text) as { error: string };
        assert.match(body.error, reason);
        assert.ok(body.error.length < 200 && !body.error.includes("\n"), body.error);
        assert.ok(!hasStackTrace(res.text), res.text);
        assert.deepEqual(leakedSecrets(res.text, [secret, ...world.secrets]), []);
        assert.equal(await inbox.count(), before, "nothing stored");
        const health = await fetch(`${base}/healthz`);
        assert.equal(health.status, 200, "still serving");
      });
    }
  });

  it("SIGTERM stops it cleanly: exit 0, nothing printed that should not be", async () => {
    child.kill("SIGTERM");
    const { code, signal } = await exit;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.match(stderr, /SIGTERM: stopping/);
    assert.ok(!hasStackTrace(stderr), stderr);
    assert.deepEqual(leakedSecrets(stdout + stderr, [secret, ...world.secrets]), []);
    await assert.rejects(fetch(`${base}/healthz`), "no longer listening");
  });
});

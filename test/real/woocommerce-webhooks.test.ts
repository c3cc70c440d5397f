/**
 * The WooCommerce connection's webhooks at a real WooCommerce 7.9 (its own shop instance, deliveries sent
 * inside the triggering request), delivered to Passerelle's own webhook server and inbox through a switch
 * that can play a receiver that is down:
 *
 * - `register` creates one signed webhook per default topic at the address, twice creates nothing more, and
 *   `list` / `unregister` without an address never touch another integration's webhook;
 * - a real order arrives in the inbox as a verified order event;
 * - the receiver down for a while: WooCommerce disables the webhooks that kept failing (its own rule, more
 *   than five failures in a row) and orders stop arriving; the service's renewal turns them on again and
 *   reports them, and the next order arrives;
 * - every request to the shop fits the REST schemas WooCommerce 7.9 reports.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type StartedWoo, startWoo, wooAvailable } from "../../scripts/real/woocommerce.mjs";
import { WooCommerceConfig } from "../../src/connectors/woocommerce/config.ts";
import {
  createWooConnector,
  type WooConnector,
  woocommerce,
} from "../../src/connectors/woocommerce/index.ts";
import { WOO_DEFAULT_TOPICS } from "../../src/connectors/woocommerce/webhook-manager.ts";
import type { WebhookInbox } from "../../src/ports/inbox.ts";
import type { Store } from "../../src/ports/store.ts";
import { renewSubscriptions } from "../../src/runtime/webhook-renewal.ts";
import { type RunningServer, startServer, type WebhookEndpoint } from "../../src/server/app.ts";
import { openStore } from "../../src/store/index.ts";
import { type Exchange, recordingFetch } from "./exchanges.ts";
import { wooSpecs } from "./woocommerce-spec.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SPECS = process.env.WOO_SPECS ?? resolve(ROOT, "..", "shared", "specs", "woocommerce");
const SECRET = "woo-webhooks-real-secret-8c2d41f0";
const available = wooAvailable();

interface WooHook {
  id: number;
  name: string;
  topic: string;
  status: string;
  delivery_url: string;
}

if (!available.ok) {
  test("WooCommerce kit and PHP are there", { skip: available.missing ?? "missing" }, () => {});
} else {
  describe("WooCommerce webhooks: registered, disabled by the shop after failures, turned on again", () => {
    const dir = mkdtempSync(join(tmpdir(), "passerelle-woo-hooks-"));
    const exchanges: Exchange[] = [];
    let shop: StartedWoo;
    let store: Store;
    let inbox: WebhookInbox;
    let server: RunningServer;
    let front: Server;
    let down = false;
    let address = "";
    let conn: WooConnector;
    let productId = 0;
    let seq = 0;

    async function api<T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
    ): Promise<T> {
      const res = await fetch(`${shop.url}/wp-json/wc/v3${path}`, {
        method,
        headers: { authorization: shop.basicAuth, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 400)}`);
      return JSON.parse(text) as T;
    }
    const hooks = () => api<WooHook[]>("GET", "/webhooks?status=all&per_page=100");
    const placeOrder = async () => {
      const n = ++seq;
      const order = await api<{ id: number }>("POST", "/orders", {
        status: "processing",
        set_paid: true,
        billing: { first_name: "Ada", last_name: `Hooks${n}`, email: `hooks-${n}@example.com` },
        line_items: [{ product_id: productId, quantity: 1 }],
      });
      await shop.runQueue();
      return order.id;
    };
    const orderEvents = async (id: number) =>
      (await inbox.list({ connection: "shop" })).filter(
        (e) => e.entity === "order" && e.recordId === String(id),
      );

    before(async () => {
      shop = await startWoo({ instance: "webhooks", webhooksSync: true, log: (m) => console.log(`# ${m}`) });
      const config = WooCommerceConfig.parse({
        url: shop.url,
        username: shop.username,
        applicationPassword: shop.applicationPassword,
        webhookSecret: SECRET,
      });
      store = await openStore(`sqlite:${join(dir, "store.db")}`);
      await store.migrate();
      inbox = store.openInbox();
      server = await startServer({
        host: "127.0.0.1",
        port: 0,
        endpoints: new Map<string, WebhookEndpoint>([
          ["shop", { receiver: woocommerce.webhooks as WebhookEndpoint["receiver"], config }],
        ]),
        inbox,
      });
      // The address WooCommerce delivers to: Passerelle's server, or a 503 while `down`.
      front = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", async () => {
          if (down) return void res.writeHead(503).end("down");
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
          const answer = await fetch(`${server.url}${req.url ?? "/"}`, {
            method: req.method ?? "POST",
            headers,
            body: Buffer.concat(chunks),
          });
          res.writeHead(answer.status).end(await answer.text());
        });
      });
      await new Promise<void>((done) => front.listen(0, "127.0.0.1", done));
      address = `http://127.0.0.1:${(front.address() as AddressInfo).port}/webhooks/shop`;
      conn = createWooConnector("shop", config, recordingFetch(exchanges));
      productId = (
        await api<{ id: number }>("POST", "/products", {
          name: "Hook mug",
          type: "simple",
          regular_price: "9.00",
          sku: `HOOK-${Date.now().toString(36)}`,
        })
      ).id;
    });
    after(async () => {
      await conn?.close();
      await server?.close();
      await new Promise((done) => front?.close(done));
      await store?.close();
      await shop?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test("register: one active signed webhook per topic, twice creates nothing; another integration's is left out", async () => {
      // Created active whatever the status asked (as WooCommerce 7.9 does), then paused by its owner.
      const made = await api<WooHook>("POST", "/webhooks", {
        name: "Another integration",
        topic: "order.created",
        delivery_url: "http://127.0.0.1:9/elsewhere",
      });
      const foreign = await api<WooHook>("PUT", `/webhooks/${made.id}`, { status: "paused" });
      assert.equal(foreign.status, "paused");
      const manager = conn.webhooks;
      assert.ok(manager, "the WooCommerce connection manages its webhooks");
      const first = await manager.register(address);
      assert.deepEqual(first.created.map((s) => s.topic).sort(), [...WOO_DEFAULT_TOPICS]);
      const second = await manager.register(address);
      assert.deepEqual([second.created.length, second.existing.length], [0, 4]);
      const atShop = await hooks();
      const mine = atShop.filter((h) => h.delivery_url === address);
      assert.equal(mine.length, 4);
      assert.ok(mine.every((h) => h.status === "active" && h.name.startsWith("Passerelle ")));
      assert.deepEqual(
        (await manager.list()).map((s) => s.url),
        mine.map(() => address),
        "list shows Passerelle's webhooks only",
      );
      assert.equal(atShop.find((h) => h.id === foreign.id)?.status, "paused");
    });

    test("a real order arrives in Passerelle's inbox as a verified order event", async () => {
      const id = await placeOrder();
      const events = await orderEvents(id);
      assert.ok(
        events.some((e) => e.topic === "order.created"),
        `no order.created event for ${id}: ${JSON.stringify(events.map((e) => e.topic))}`,
      );
      assert.ok(!JSON.stringify(events).includes(SECRET));
    });

    test("receiver down: the shop disables the failing webhooks; the renewal turns them on again and orders arrive", async () => {
      down = true;
      let created: WooHook | undefined;
      const missed: number[] = [];
      for (let i = 0; i < 12; i++) {
        missed.push(await placeOrder());
        created = (await hooks()).find((h) => h.delivery_url === address && h.topic === "order.created");
        if (created?.status === "disabled") break;
      }
      assert.equal(created?.status, "disabled", "WooCommerce disables a webhook after repeated failures");
      assert.ok(missed.length >= 6, `disabled after ${missed.length} orders`);
      console.log(`# order.created disabled by WooCommerce after ${missed.length} orders went undelivered`);
      down = false;
      // Up again, but the shop no longer sends: a silent stop until something turns the webhook on.
      const unseen = await placeOrder();
      assert.deepEqual(await orderEvents(unseen), []);

      const renewals = await renewSubscriptions([conn], new Map([["shop", [address]]]));
      assert.equal(renewals[0]?.error, undefined);
      const recreated = renewals[0]?.recreated.flatMap((r) => r.topics) ?? [];
      assert.ok(recreated.includes("order.created"), JSON.stringify(renewals));
      const after = (await hooks()).filter((h) => h.delivery_url === address);
      assert.equal(after.length, 4, "turned on again, not created a second time");
      assert.ok(after.every((h) => h.status === "active"));

      const next = await placeOrder();
      assert.ok((await orderEvents(next)).some((e) => e.topic === "order.created"));
      // The next turn finds nothing to do.
      const again = await renewSubscriptions([conn], new Map([["shop", [address]]]));
      assert.deepEqual(again[0]?.recreated, []);
    });

    test("unregister without an address removes Passerelle's webhooks only", async () => {
      const removed = (await conn.webhooks?.unregister()) ?? [];
      assert.equal(removed.length, 4);
      const left = await hooks();
      assert.deepEqual(
        left.map((h) => h.name),
        ["Another integration"],
      );
    });

    test("every request to the shop fits the REST schemas WooCommerce 7.9 reports", (t) => {
      if (!existsSync(join(SPECS, "wc-v3-index.json"))) return t.skip(`no specs at ${SPECS}`);
      const specs = wooSpecs(SPECS);
      const hookCalls = exchanges.filter((x) => new URL(x.url).pathname.includes("/webhooks"));
      assert.ok(hookCalls.length >= 6, `only ${hookCalls.length} webhook calls recorded`);
      assert.deepEqual(
        exchanges.flatMap((x) => specs.check(x)),
        [],
      );
    });
  });
}

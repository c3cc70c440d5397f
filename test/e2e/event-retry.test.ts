/**
 * Honest inbox drains through `passerelle run`: an order's webhook events arrive while the shop answers
 * every read with HTTP 503. The drain cannot read the order, so its events stay pending (with an attempt
 * count and the reason), the order is not in the ERP, and `status` counts them; once the shop answers again,
 * a later drain processes them and the order reaches the ERP exactly once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { placeOrders } from "@passerelle/emulators";
import { rng } from "../../src/core/prng.ts";
import type { StoredEvent, WebhookInbox } from "../../src/ports/inbox.ts";
import type { Store } from "../../src/ports/store.ts";
import { openStore } from "../../src/store/index.ts";
import { explain, type LiveCli, startCli, startWorld, type World, waitFor } from "./helpers.ts";
import { parseOutput, StatusOutput } from "./outputs.ts";
import { odooSalesByRef } from "./state.ts";

describe("a drain whose source read fails", () => {
  let world: World;
  let run: LiveCli;
  let store: Store;
  let inbox: WebhookInbox;
  let hook = "";

  before(async () => {
    world = await startWorld({ products: 10 });
    const setup = await world.cli(["sync", "products", "prices", "stock", "customers"]);
    assert.equal(setup.code, 0, explain(setup));
    run = startCli(["run", "--port", "0"], world.env);
    const base = await waitFor("the server to listen", () => {
      return /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())?.[1] ?? null;
    });
    hook = `${base}/webhooks/shopify`;
    const reg = await world.cli(["webhooks", "register", "shopify", "--address", hook]);
    assert.equal(reg.code, 0, explain(reg));
    store = await openStore(world.storeUrl);
    inbox = store.openInbox();
  });

  after(async () => {
    run?.kill("SIGKILL");
    await run?.exited;
    await store?.close();
    await world?.close();
  });

  it("leaves the events pending with an attempt count; a later drain processes them", async () => {
    const shop = world.systems.shopify;
    shop.faults.configure({ rates: { "5xx": 1 } });
    const logged = shop.webhooks.log.length;
    const [placed] = placeOrders(shop, 1, rng(21));
    assert.ok(placed);
    await shop.webhooks.settle();
    const keys = shop.webhooks.log.slice(logged).map((l) => l.eventId);
    assert.ok(keys.length > 0, "the shop delivered the order's webhooks");
    const ref = `shopify:${placed.name}`;
    const events = async (): Promise<StoredEvent[]> =>
      (await inbox.list({ connection: "shopify" })).filter((e) =>
        keys.some((k) => e.dedupeKey.endsWith(`:${k}`)),
      );

    // The first drain has run once no event of the order is untouched.
    const tried = await waitFor("a drain of the order's events", async () => {
      const es = await events();
      return es.length === keys.length && es.every((e) => e.status !== "pending" || e.attempts > 0)
        ? es
        : null;
    });
    for (const e of tried) {
      assert.equal(e.status, "pending", `event ${e.dedupeKey} was settled although its order was not synced`);
      assert.ok(e.attempts >= 1);
      assert.match(e.note ?? "", /could not sync the record: .*HTTP 503/);
    }
    assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 0);
    const status = parseOutput(StatusOutput, await world.cli(["status", "--json"]));
    assert.ok(status.webhookEvents.pending >= keys.length, JSON.stringify(status.webhookEvents));

    shop.faults.configure({});
    await waitFor("the order's events processed", async () =>
      (await events()).every((e) => e.status === "processed") ? true : null,
    );
    assert.equal(odooSalesByRef(world.systems.odoo, ref).length, 1);
    assert.equal(run.stdout().includes("Stopped"), false, "the service is still running");
  });
});

/**
 * The renewal against the Shopify emulator with Shopify's rule for failing receivers: a delivery retried 8
 * times without a 2xx gets its subscription deleted. The receiver down for a customer change: the
 * CUSTOMERS_UPDATE subscription is gone, the other topics stay; registering again what the vendor lists
 * cannot bring it back, the address `webhooks register` subscribed can, and the next change is delivered.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type ShopifyEmulator, startShopifyEmulator } from "@passerelle/emulators";
import { ShopifyConfig } from "../connectors/shopify/config.ts";
import { createShopifyConnector } from "../connectors/shopify/index.ts";
import { DEFAULT_TOPICS } from "../connectors/shopify/webhooks.ts";
import type { Connector } from "../ports/connector.ts";
import { renewSubscriptions } from "./webhook-renewal.ts";

describe("Shopify deletes a failing subscription; the renewal subscribes it again", () => {
  let emu: ShopifyEmulator;
  let receiver: Server;
  let down = false;
  const received: string[] = [];
  let address = "";
  let conn: Connector;

  before(async () => {
    emu = await startShopifyEmulator({ customers: 3 });
    emu.webhooks.retries = 8;
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (down) return void res.writeHead(503).end();
        received.push(String(req.headers["x-shopify-topic"]));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    address = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/shop`;
    conn = createShopifyConnector(
      "shop",
      ShopifyConfig.parse({ shop: emu.shop, accessToken: emu.accessToken, endpoint: emu.url }),
    );
    await conn.webhooks?.register(address);
  });
  after(async () => {
    await conn.close();
    await new Promise((r) => receiver.close(r));
    await emu.close();
  });

  /** A customer changed in the shop's admin, and the deliveries it raises. */
  const changeCustomer = async (lastName: string) => {
    const c = [...emu.data.customers.values()][0];
    assert.ok(c);
    c.lastName = lastName;
    c.updatedAt = new Date().toISOString();
    emu.webhooks.scan();
    await emu.webhooks.settle();
  };
  const topics = async () => ((await conn.webhooks?.list()) ?? []).map((s) => s.topic).sort();

  test("down through every retry: the subscription is deleted and the topic goes silent", async () => {
    down = true;
    const logged = emu.webhooks.log.length;
    await changeCustomer("Down");
    const attempts = emu.webhooks.log.slice(logged).filter((l) => l.topic === "CUSTOMERS_UPDATE");
    assert.equal(attempts.length, 9, "the delivery and its 8 retries");
    assert.ok(!(await topics()).includes("CUSTOMERS_UPDATE"));
    assert.equal((await topics()).length, DEFAULT_TOPICS.length - 1, "the other topics stay");
    down = false;
    await changeCustomer("Back");
    assert.deepEqual(received, [], "nothing reaches the receiver any more");
  });

  test("what the vendor lists cannot bring it back; the remembered address does", async () => {
    const blind = await renewSubscriptions([conn]);
    assert.deepEqual(blind[0]?.recreated, []);
    assert.ok(!(await topics()).includes("CUSTOMERS_UPDATE"));

    const renewed = await renewSubscriptions([conn], new Map([["shop", [address]]]));
    assert.deepEqual(renewed[0]?.recreated, [{ url: address, topics: ["CUSTOMERS_UPDATE"] }]);
    assert.deepEqual(await topics(), [...DEFAULT_TOPICS].sort());

    await changeCustomer("Delivered");
    assert.deepEqual(received, ["customers/update"]);
  });
});

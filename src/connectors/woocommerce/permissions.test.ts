/**
 * With a REST key pair no route tells the key its permission: every right the flows need is "unknown" with
 * that reason, and nothing is asked of the shop.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WooCommerceConfig } from "./config.ts";
import { createWooConnector } from "./index.ts";

test("a REST key's rights are unknown, with the reason, and no call is made", async () => {
  let calls = 0;
  const c = createWooConnector(
    "shop",
    WooCommerceConfig.parse({
      url: "https://shop.example.com",
      consumerKey: "ck_0123456789abcdef",
      consumerSecret: "cs_0123456789abcdef",
    }),
    async () => {
      calls++;
      throw new Error("no call expected");
    },
  );
  const rights = (await c.permissions?.({ reads: ["order"], writes: [] })) ?? [];
  assert.deepEqual(
    rights.map((r) => [r.right, r.neededFor, r.granted]),
    [["read_private_shop_orders", "read order", "unknown"]],
  );
  assert.match(rights[0]?.how ?? "", /^a REST key authenticates WooCommerce's routes only/);
  assert.equal(calls, 0);
});

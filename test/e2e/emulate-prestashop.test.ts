/**
 * `passerelle emulate prestashop` as a user runs it: it prints the emulator's URL and key, and a PrestaShop
 * connection made of them passes its check, reads the customers and writes a product through the
 * schema-checked Webservice.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PrestaShopConfig } from "../../src/connectors/prestashop/config.ts";
import { prestashop } from "../../src/connectors/prestashop/index.ts";
import { startCli } from "./long-running.ts";

describe("passerelle emulate prestashop", () => {
  test("passerelle emulate prestashop prints credentials a prestashop connection accepts", async () => {
    const run = startCli(["emulate", "prestashop", "--port", "0"], { ...process.env });
    try {
      const url = (await run.waitFor("stdout", /export PRESTASHOP_URL=(\S+)/))[1]!;
      const key = (await run.waitFor("stdout", /export PRESTASHOP_KEY=(\S+)/))[1]!;
      const shop = prestashop.create("shop", PrestaShopConfig.parse({ url, key }));
      await shop.check();
      const customers: unknown[] = [];
      for await (const page of shop.streams.customer!.list({
        since: null,
        signpost: "2999-01-01T00:00:00Z",
        pageSize: 50,
      }))
        customers.push(...page);
      assert.equal(customers.length, 20);
      const [written] = await shop.writers.product!.upsert(
        [
          {
            key: "TRY-1",
            targetId: null,
            externalRef: "TRY-1",
            record: {
              source: "erp",
              sourceId: "1",
              updatedAt: "2026-06-01T00:00:00Z",
              key: "TRY-1",
              title: "Try & see",
              status: "active",
              currency: "EUR",
              categoryPath: [],
              attributes: {},
              images: [],
              components: [],
              variants: [{ sku: "TRY-1", price: "9.90", options: {} }],
            },
          },
        ],
        { resolve: async () => null },
      );
      assert.ok(written?.ok && written.action === "created", JSON.stringify(written));
    } finally {
      const res = await run.stop();
      assert.match(res.stdout, /prestashop emulator running/);
    }
  });
});

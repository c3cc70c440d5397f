/**
 * `passerelle emulate bigcommerce` as a user runs it: it prints the emulator's URL and token, and a BigCommerce
 * connection made of them passes its check, reads the customers and writes a product through the document-checked API.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bigcommerceSpecSkip } from "@passerelle/emulators";
import { BigCommerceConfig } from "../../src/connectors/bigcommerce/config.ts";
import { bigcommerce } from "../../src/connectors/bigcommerce/index.ts";
import { startCli } from "./long-running.ts";

describe("passerelle emulate bigcommerce", { skip: bigcommerceSpecSkip() }, () => {
  test("passerelle emulate bigcommerce prints credentials a bigcommerce connection accepts", async () => {
    const run = startCli(["emulate", "bigcommerce", "--port", "0"], { ...process.env });
    try {
      const url = (await run.waitFor("stdout", /export BIGCOMMERCE_API_URL=(\S+)/))[1]!;
      const token = (await run.waitFor("stdout", /export BIGCOMMERCE_TOKEN=(\S+)/))[1]!;
      const shop = bigcommerce.create("shop", BigCommerceConfig.parse({ apiUrl: url, accessToken: token }));
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
              title: "Try",
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
      assert.match(res.stdout, /bigcommerce emulator running/);
    }
  });
});

/**
 * The shared connector contract, run against the Shopify emulator. Inventory is not among the writer
 * samples: setting an absolute quantity leaves no document to find, so "not found by an unknown external
 * reference" has no meaning for it (findByExternalRef answers for any resolvable SKU × location, which is
 * safe because the write is idempotent); connector.test.ts covers the inventory writer instead.
 */

import { startShopifyEmulator } from "@passerelle/emulators";
import { closedPort } from "../../../test/helpers/net.ts";
import type { Price, Product, Shipment } from "../../core/model.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";
import { ShopifyConfig } from "./config.ts";
import { createShopifyConnector } from "./index.ts";

let serial = 0;
const at = "2026-06-01T00:00:00Z";

function product(key: string, skus: string[], price = "12.50"): Product {
  return {
    source: "erp",
    sourceId: key,
    updatedAt: at,
    key,
    title: `Contract ${key}`,
    status: "active",
    currency: "EUR",
    categoryPath: [],
    attributes: {},
    images: [],
    components: [],
    variants: skus.map((sku, i) => {
      const options: Record<string, string> = skus.length > 1 ? { Size: String(i + 1) } : {};
      return { sku, price, options };
    }),
  };
}

runContractSuite({
  name: "shopify",
  async setup() {
    const emu = await startShopifyEmulator({ seed: 11, customers: 40, rateLimit: { enabled: false } });
    const config = ShopifyConfig.parse({ shop: emu.shop, accessToken: emu.accessToken, endpoint: emu.url });
    const connector = createShopifyConnector("shopify", config);
    const seedSkus: string[] = [];
    const seeded = Array.from({ length: 8 }, (_, i) => {
      const skus = [`BASE-${i}-A`, `BASE-${i}-B`];
      seedSkus.push(...skus);
      return product(`BASE-${i}`, skus);
    });
    await connector.writers.product!.upsert(
      seeded.map((p) => ({ key: p.key, record: p, targetId: null, externalRef: p.key })),
      { resolve: async () => null },
    );
    const emails = [...emu.data.customers.values()].map((c) => c.email ?? "");
    for (let i = 0; i < 12; i++) {
      emu.placeOrder({
        email: emails[i] ?? "",
        lines: [{ sku: seedSkus[i % seedSkus.length] ?? "", quantity: 1 + (i % 3) }],
        shipping: i % 2 === 0,
      });
    }
    const price = (code: string, sku: string, amount: string): Price => ({
      source: "erp",
      sourceId: `${code}:${sku}`,
      updatedAt: at,
      key: `${code}:${sku}`,
      priceList: { code, name: code, customerGroup: "wholesale", currency: "EUR" },
      sku,
      price: amount,
      tiers: [{ minQuantity: 5, price: "9.00" }],
    });
    const shipment = (orderNumber: string, tracking: string): Shipment => ({
      source: "erp",
      sourceId: tracking,
      updatedAt: at,
      key: `erp:${tracking}`,
      orderKey: `shopify:${orderNumber}`,
      orderNumber,
      carrier: "UPS",
      trackingNumbers: [tracking],
      trackingUrls: [],
      lines: [],
      shippedAt: at,
    });
    return {
      connector,
      badCredentials: createShopifyConnector("shopify", { ...config, accessToken: "shpat_wrong" }),
      unreachable: createShopifyConnector("shopify", {
        ...config,
        endpoint: `http://127.0.0.1:${await closedPort()}/admin/api/2026-10/graphql.json`,
      }),
      streams: ["customer", "order", "product"],
      samples: {
        product: () => {
          serial += 1;
          return [1, 2, 3].map((i) =>
            product(`NEW-${serial}-${i}`, [`NEW-${serial}-${i}-X`, `NEW-${serial}-${i}-Y`]),
          );
        },
        price: () => {
          serial += 1;
          return seedSkus.slice(0, 3).map((sku, i) => price(`LIST${serial}`, sku, `1${i}.00`));
        },
        shipment: () =>
          [0, 1, 2].map((i) => {
            serial += 1;
            const o = emu.placeOrder({
              email: emails[i] ?? "",
              lines: [{ sku: seedSkus[i] ?? "", quantity: 1 }],
            });
            return shipment(o.name, `TRK-${serial}`);
          }),
      },
      rejects: {
        product: () => product(`BAD-${++serial}`, [`BAD-${serial}`], "-1"),
        price: () => price("LISTBAD", `NO-SUCH-SKU-${++serial}`, "1.00"),
        shipment: () => shipment("#999999", `TRK-BAD-${++serial}`),
      },
      async touch(entity, id) {
        const now = new Date().toISOString();
        const rec =
          entity === "customer"
            ? emu.data.customers.get(id)
            : entity === "order"
              ? emu.data.orders.get(id)
              : emu.data.products.get(id);
        if (!rec) throw new Error(`touch: no ${entity} ${id}`);
        rec.updatedAt = now;
      },
      writes: () => emu.stats.writes,
      teardown: () => emu.close(),
    };
  },
});

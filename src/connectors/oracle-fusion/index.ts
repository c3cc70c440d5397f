/**
 * The Oracle Fusion Cloud SCM connector (ADF REST, resources 11.13.18.05): products read from Product Hub
 * items (itemsV2; incremental on LastUpdateDate) priced from a base price list, customer-group prices from
 * price lists (priceLists items and their sale charges; incremental on the item's LastUpdateDate), and shop orders written as Order Management sales orders
 * (salesOrdersForOrderHub with child lines), found again by SourceTransactionNumber and held when Fusion's
 * total differs from the shop's. Held to three Postman collections derived from Oracle's OpenAPI document
 * through the emulator (packages/emulators/src/oracle-fusion); docs/connectors/oracle-fusion.md says what
 * that leaves out.
 */
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { FUSION_ROOT, FusionClient } from "./client.ts";
import { FusionConfig } from "./config.ts";
import type { FusionContext } from "./context.ts";
import { itemStream } from "./streams/item.ts";
import { priceStream } from "./streams/price.ts";
import { orderWriter } from "./writers/order.ts";

export const oracleFusion = defineConnector({
  id: "oracle-fusion",
  version: "0.2.0",
  description:
    "Oracle Fusion Cloud SCM via its ADF REST resources: Product Hub items (itemsV2) as products, price list items (priceLists) as customer-group prices, shop orders as Order Management sales orders (salesOrdersForOrderHub).",
  config: FusionConfig,
  client: (name, config): FusionContext => ({ name, config, client: new FusionClient(name, config) }),
  entities: {
    product: { read: itemStream },
    price: { read: priceStream },
    order: { write: orderWriter },
  },
  // Oracle publishes no call budget for these resources: bounded concurrency, and a 429 pauses for its Retry-After.
  capabilities: { rateModel: "retry-after" },
  connection: (ctx, name) => ({
    async check() {
      const page = await ctx.client.http.request(
        "GET",
        `${FUSION_ROOT}/itemsV2?limit=1&onlyData=true`,
        undefined,
        undefined,
        {
          what: "check",
        },
      );
      if (typeof page !== "object" || page === null || !("items" in page)) {
        throw new SyncError("retryable", `${name}: Oracle Fusion answered the check with no collection`, {
          system: name,
        });
      }
    },
    stats: () => ({ calls: ctx.client.calls, throttled: ctx.client.http.stats().throttled }),
    apiVersion: () => ({
      api: "Oracle Fusion Cloud SCM REST (fscmRestApi/resources)",
      version: "11.13.18.05",
      supportedUntil: null,
      policy:
        "Oracle keeps the 11.13.18.05 resource version across quarterly updates and lists deprecated resources in each release's REST API guide.",
    }),
    close: async () => undefined,
  }),
});

/**
 * The PrestaShop 8 connector: the Webservice (`/api/...`) with a webservice key as HTTP Basic user. Reads
 * products with combinations, customers and orders (JSON, `filter[date_upd]` with `date=1`, keyset paging);
 * writes products with combinations (XML, language-keyed names, entity-escaped), customer-group prices as specific prices, stock
 * through stock_availables, shipments (order carrier tracking number and the Shipped state) and
 * cancellations. Held to PrestaShop's documented resource schemas through the emulator
 * (specs/prestashop/, test/emulators/prestashop-replay.test.ts).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { defineConnector } from "../../ports/connector.ts";
import { PrestaShopClient } from "./client.ts";
import { checkPrestaShopUse, PrestaShopConfig } from "./config.ts";
import { PrestaShopLookups } from "./lookup.ts";
import { customerStream, orderStream, productStream } from "./streams.ts";
import { inventoryWriter } from "./writers/inventory.ts";
import { orderWriter } from "./writers/order.ts";
import { priceWriter } from "./writers/price.ts";
import { productWriter } from "./writers/product.ts";
import { shipmentWriter } from "./writers/shipment.ts";

export { PrestaShopConfig } from "./config.ts";

export interface PrestaShopContext {
  name: string;
  client: PrestaShopClient;
  lookups: PrestaShopLookups;
}

export const prestashop = defineConnector({
  id: "prestashop",
  version: "1.0.0",
  description:
    "PrestaShop 8 (Webservice, XML writes and JSON reads, webservice key): products with combinations, customers and orders in (date_upd); products with combinations, customer-group specific prices, stock_availables, shipments with tracking and cancellations out",
  config: PrestaShopConfig,
  client: (name, config): PrestaShopContext => {
    const client = new PrestaShopClient(name, config);
    return { name, client, lookups: new PrestaShopLookups(client) };
  },
  entities: {
    product: {
      read: (x) => productStream(x.name, x.client),
      write: (x) => productWriter(x.name, x.client, x.lookups),
    },
    price: { write: (x) => priceWriter(x.name, x.client, x.lookups) },
    inventory: { write: (x) => inventoryWriter(x.name, x.client, x.lookups) },
    customer: { read: (x) => customerStream(x.name, x.client, x.lookups) },
    order: {
      read: (x) => orderStream(x.name, x.client, x.lookups),
      write: (x) => orderWriter(x.name, x.client, x.lookups),
    },
    shipment: { write: (x) => shipmentWriter(x.name, x.client, x.lookups) },
  },
  capabilities: { rateModel: "none" },
  connection: (x) => ({
    /** The key is accepted and may read the order states (a key without it cannot sync orders anyway). */
    async check() {
      const states = await x.client.list(
        "order_states",
        "display=[id]",
        z.object({ id: z.unknown() }).loose(),
        "order states",
      );
      if (states.length === 0)
        throw new SyncError("config", `${x.name}: PrestaShop answered no order states`, { system: x.name });
    },
    stats: () => ({ calls: x.client.calls, throttled: x.client.http.stats().throttled }),
    async close() {},
    writes: () => x.client.writes,
  }),
  checkUse: checkPrestaShopUse,
});

export type PrestaShopConnector = ReturnType<typeof prestashop.create>;

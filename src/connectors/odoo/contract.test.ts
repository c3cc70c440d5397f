import { sampleCustomer, sampleOrder, startFixture } from "../../../test/fixtures/odoo.ts";
import { closedPort } from "../../../test/helpers/net.ts";
import type { EntityName, Order } from "../../core/model.ts";
import { runContractSuite } from "../../ports/contract-suite.ts";

/** The Odoo model behind each stream's ids, for the suite's "touch a record" step. */
const MODEL_OF: Record<EntityName, string> = {
  product: "product.template",
  price: "product.pricelist.item",
  inventory: "stock.quant",
  customer: "res.partner",
  order: "sale.order",
  shipment: "stock.picking",
  invoice: "account.move",
};

runContractSuite({
  name: "odoo",
  async setup() {
    const fx = await startFixture({ products: 20, customers: 12, orders: 12 });
    let n = 0;
    return {
      connector: fx.connector,
      badCredentials: fx.connect({ password: "wrong-password" }, "odoo-bad"),
      unreachable: fx.connect({ url: `http://127.0.0.1:${await closedPort()}` }, "odoo-down"),
      streams: ["product", "price", "inventory", "customer", "order", "shipment", "invoice"],
      samples: {
        order: () => [
          sampleOrder(fx.skus),
          sampleOrder(fx.skus, { discount: "1.00" }),
          sampleOrder(fx.skus, { orderDiscount: "3.00" }),
        ],
        customer: () => [sampleCustomer(++n), sampleCustomer(++n), sampleCustomer(++n)],
      },
      rejects: {
        order: (): Order => {
          const o = sampleOrder(fx.skus);
          return { ...o, lines: o.lines.map((l) => ({ ...l, sku: "UNKNOWN-SKU" })) };
        },
      },
      async touch(entity, id) {
        fx.emu.touch(MODEL_OF[entity], Number(id));
      },
      writes: () => fx.emu.stats.writes,
      teardown: () => fx.emu.close(),
    };
  },
});

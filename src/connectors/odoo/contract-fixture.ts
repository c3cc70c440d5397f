/** The shared connector contract's fixture: the Odoo emulator. */
import type { Customer, EntityName, Order } from "../../core/model.ts";
import type { ContractFixture } from "../../ports/contract-suite.ts";
import { closedPort } from "../../testing/net.ts";
import { OdooConfig } from "./config.ts";
import { sampleCustomer, sampleOrder, startFixture } from "./fixtures.ts";
import { odoo } from "./index.ts";

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

const noInsert = "the emulator has no way to add one here that its users have; customers and orders cover it";

/** The system under test, for the suite and for the mutation tests in test/contract/. */
export async function odooContractFixture(): Promise<ContractFixture<OdooConfig>> {
  const fx = await startFixture({ products: 20, customers: 12, orders: 12 });
  const settings = { url: fx.emu.url, db: fx.emu.db, username: fx.emu.login, password: fx.emu.password };
  const config = OdooConfig.parse(settings);
  // Records added while the suite pages are written by a second, unmutated connection, as a shop would.
  const other = odoo.create("odoo-other", config);
  const noLinks = { resolve: async () => null };
  let n = 0;
  return {
    config,
    badCredentials: OdooConfig.parse({ ...settings, password: "wrong-password" }),
    unreachable: OdooConfig.parse({ ...settings, url: `http://127.0.0.1:${await closedPort()}` }),
    skip: {
      "product.inserts": noInsert,
      "price.inserts": noInsert,
      "inventory.inserts": noInsert,
      "shipment.inserts": noInsert,
      "invoice.inserts": noInsert,
      "order.update":
        "a confirmed sale is the ERP's: the writer never rewrites it from the shop (answers unchanged)",
    },
    samples: {
      order: () => [
        sampleOrder(fx.skus),
        sampleOrder(fx.skus, { discount: "1.00" }),
        sampleOrder(fx.skus, { orderDiscount: "3.00" }),
      ],
      customer: () => [sampleCustomer(++n), sampleCustomer(++n), sampleCustomer(++n)],
    },
    change: {
      customer: (c: Customer): Customer => ({ ...c, lastName: `${c.lastName ?? ""} Changed` }),
      order: (o: Order): Order => ({ ...o, cancelled: true }),
    },
    normalise: {
      customer: (c) => {
        const r = c as Customer;
        return { email: r.email, name: [r.firstName, r.lastName].filter(Boolean).join(" ") };
      },
      order: (o) => {
        const r = o as Order;
        return {
          total: r.total,
          cancelled: r.cancelled,
          lines: r.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
        };
      },
    },
    rejects: {
      customer: (): Customer => {
        const c = sampleCustomer(++n);
        return { ...c, addresses: c.addresses.map((a) => ({ ...a, country: "ZZ" })) };
      },
      order: (): Order => {
        const o = sampleOrder(fx.skus);
        return { ...o, lines: o.lines.map((l) => ({ ...l, sku: "UNKNOWN-SKU" })) };
      },
    },
    async insert(entity) {
      const record = entity === "customer" ? sampleCustomer(++n) : sampleOrder(fx.skus);
      const writer = other.writers[entity as "customer"];
      if (!writer) throw new Error(`no insert for ${entity}`);
      const [r] = await writer.upsert(
        [{ key: record.key, record: record as Customer, targetId: null, externalRef: record.key }],
        noLinks,
      );
      if (!r?.ok) throw new Error(`insert ${entity}: ${r?.ok === false ? r.error.message : "no result"}`);
      return r.targetId;
    },
    async touch(entity, id) {
      fx.emu.touch(MODEL_OF[entity], Number(id));
    },
    writes: () => fx.emu.stats.writes,
    faults: {
      retryAfterS: 1,
      inject: (kind) => fx.emu.faults.configure(kind ? { rates: { [kind]: 1 }, retryAfterS: 1 } : {}),
    },
    teardown: () => fx.emu.close(),
  };
}

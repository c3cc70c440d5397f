/** Test fixtures: an emulator with a connector aimed at it, and canonical orders/customers to write. */
import Big from "big.js";
import type { Customer, Order } from "../../core/model.ts";
import { OdooConfig } from "./config.ts";
import { type OdooEmulator, type OdooEmulatorOptions, startOdooEmulator } from "./emulator/index.ts";
import { createOdooConnector, type OdooConnector } from "./index.ts";

export interface OdooFixture {
  emu: OdooEmulator;
  connector: OdooConnector;
  connect(
    overrides?: Partial<{ password: string; url: string; timeoutMs: number; pageSize: number }>,
    name?: string,
  ): OdooConnector;
  /** SKUs of stocked variants in the emulator, for building orders. */
  skus: { sku: string; price: string }[];
}

export async function startFixture(opts: OdooEmulatorOptions = {}): Promise<OdooFixture> {
  const emu = await startOdooEmulator({ products: 20, customers: 12, orders: 8, ...opts });
  const connect: OdooFixture["connect"] = (overrides = {}, name = "odoo") =>
    createOdooConnector(
      name,
      OdooConfig.parse({
        url: emu.url,
        db: emu.db,
        username: emu.login,
        password: emu.password,
        ...overrides,
      }),
    );
  const variants = emu.data.read(
    "product.product",
    emu.data.search("product.product", [["default_code", "not in", ["SHIP", "DISCOUNT"]]], {
      order: "id asc",
    }),
    ["default_code", "lst_price"],
  );
  const skus = variants.map((v) => ({ sku: String(v.default_code), price: Number(v.lst_price).toFixed(2) }));
  return { emu, connector: connect(), connect, skus };
}

const round2 = (b: Big) => b.round(2, Big.roundHalfUp);
let counter = 0;

/**
 * A shop order as the engine would hand it over: 20% VAT excluded, per-line tax rounding (Odoo's
 * default), shipping, and optionally a line discount and an order discount.
 */
export function sampleOrder(
  skus: { sku: string; price: string }[],
  opts: { number?: string; lines?: number; discount?: string; orderDiscount?: string; email?: string } = {},
): Order {
  counter++;
  const number = opts.number ?? `#${1000 + counter}-${Date.now() % 100000}`;
  const picked = Array.from(
    { length: opts.lines ?? 2 },
    (_, i) => skus[(counter * 3 + i) % skus.length] ?? skus[0]!,
  );
  let untaxed = new Big(0);
  let tax = new Big(0);
  const taxOf = (amount: Big) => round2(amount.times("0.2"));
  const lines = picked.map((p, i) => {
    const quantity = i + 1;
    const discount = i === 0 && opts.discount ? opts.discount : "0";
    const base = new Big(p.price).times(quantity);
    const lineTax = taxOf(base);
    const discountTax = taxOf(new Big(discount).times(-1));
    untaxed = untaxed.plus(base).minus(discount);
    tax = tax.plus(lineTax).plus(discountTax);
    return {
      sku: p.sku,
      title: `Item ${p.sku}`,
      quantity,
      unitPrice: p.price,
      discount,
      taxes: [{ title: "VAT 20%", rate: "0.2", amount: lineTax.plus(discountTax).toFixed(2) }],
    };
  });
  const shipping = new Big("5.90");
  untaxed = untaxed.plus(shipping);
  tax = tax.plus(taxOf(shipping));
  const discounts = opts.orderDiscount ? [{ code: "WELCOME", amount: opts.orderDiscount }] : [];
  if (opts.orderDiscount) {
    untaxed = untaxed.minus(opts.orderDiscount);
    tax = tax.plus(taxOf(new Big(opts.orderDiscount).times(-1)));
  }
  const email = opts.email ?? `buyer${counter}.${Date.now() % 100000}@example.org`;
  return {
    source: "shopify",
    sourceId: String(counter),
    updatedAt: "2024-03-01T10:00:00Z",
    key: `shopify:${number}`,
    number,
    placedAt: "2024-03-01T09:59:00Z",
    currency: "EUR",
    customer: { key: email, email, name: "Jane Buyer" },
    billingAddress: {
      type: "billing",
      line1: "1 rue de Rivoli",
      city: "Paris",
      postalCode: "75001",
      country: "FR",
      name: "Jane Buyer",
    },
    lines,
    shipping: {
      title: "Colissimo",
      amount: "5.90",
      taxes: [{ title: "VAT 20%", rate: "0.2", amount: taxOf(shipping).toFixed(2) }],
    },
    discounts,
    taxesIncluded: false,
    totalTax: tax.toFixed(2),
    total: untaxed.plus(tax).toFixed(2),
    financialStatus: "paid",
    fulfillmentStatus: "unfulfilled",
    payments: [],
    cancelled: false,
  };
}

export function sampleCustomer(n: number, stamp = Date.now()): Customer {
  const email = `new.customer${n}.${stamp}@example.com`;
  return {
    source: "shopify",
    sourceId: String(n),
    updatedAt: "2024-03-01T10:00:00Z",
    key: email,
    email,
    firstName: "Nina",
    lastName: `Example${n}`,
    phone: "+33 1 23 45 67 89",
    group: n % 2 === 0 ? "wholesale" : undefined,
    addresses: [
      { type: "both", line1: `${n} avenue Foch`, city: "Lyon", postalCode: "69006", country: "FR" },
      {
        type: "shipping",
        name: "Depot",
        line1: "5 quai Perrache",
        city: "Lyon",
        postalCode: "69002",
        country: "FR",
      },
    ],
  };
}

import { SyncError } from "../../../core/errors.ts";
import type { Order, OrderLine } from "../../../core/model.ts";

type TaxLine = OrderLine["taxes"][number];

import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import { afterPrefix, type OdooContext } from "../context.ts";
import { bool, ids, many2one, money, num, str, uniq } from "../fields.ts";
import { ADDRESS_FIELDS, addressOf, countryCodes } from "../partners.ts";
import { financialStatus, fulfillmentStatus } from "../payment.ts";
import { latestWrite, type Rolled, type RollupSpec, rollupPages } from "../rollup.ts";
import { loadSaleTaxes, rateOf, type Tax } from "../taxes.ts";
import { odooToIso } from "../time.ts";

export interface OrderNative extends Rolled {
  order: OdooRow;
  lines: (OdooRow & { sku?: string })[];
  partners: Map<number, OdooRow>;
  pickingStates: string[];
  /** Customer invoices and credit notes of the sale, any state. */
  invoices: OdooRow[];
  taxes: Tax[];
  countries: Map<number, string>;
}

const FIELDS = [
  "name",
  "partner_id",
  "partner_invoice_id",
  "partner_shipping_id",
  "client_order_ref",
  "date_order",
  "currency_id",
  "state",
  "amount_untaxed",
  "amount_tax",
  "amount_total",
  "invoice_ids",
  "write_date",
];
const LINE_FIELDS = [
  "order_id",
  "product_id",
  "name",
  "product_uom_qty",
  "price_unit",
  "discount",
  "tax_id",
  "price_subtotal",
  "price_tax",
  "is_delivery",
];
// Quotations are not orders yet; confirmed, locked and cancelled sales are.
const BASE = [["state", "in", ["sale", "done", "cancel"]]];
const DELIVERIES = [
  ["picking_type_code", "=", "outgoing"],
  ["sale_id", "!=", false],
];
const CUSTOMER_MOVES = [["move_type", "in", ["out_invoice", "out_refund"]]];

/** The canonical key of an Odoo sale: the shop's key it was created with, else `<connection>:<name>`. */
export function orderKeyOf(ctx: OdooContext, order: OdooRow): string {
  return str(order, "client_order_ref") ?? `${ctx.name}:${str(order, "name") ?? order.id}`;
}

export function orderStream(ctx: OdooContext): Stream<"order", OrderNative> {
  const { client } = ctx;
  const enrich = async (orders: OdooRow[], signal?: AbortSignal): Promise<OrderNative[]> => {
    const orderIds = orders.map((o) => o.id);
    const partnerIds = uniq(
      orders.flatMap((o) =>
        ["partner_id", "partner_invoice_id", "partner_shipping_id"].map((f) => many2one(o, f)?.id),
      ),
    );
    const invoiceIds = uniq(orders.flatMap((o) => ids(o, "invoice_ids")));
    const [lines, partners, pickings, taxes, countries, moves] = await Promise.all([
      client.searchRead("sale.order.line", [["order_id", "in", orderIds]], LINE_FIELDS, {
        order: "id asc",
        signal,
      }),
      client.read("res.partner", partnerIds, [...ADDRESS_FIELDS, "email"], signal),
      client.searchRead(
        "stock.picking",
        [
          ["sale_id", "in", orderIds],
          ["picking_type_code", "=", "outgoing"],
        ],
        ["sale_id", "state", "write_date"],
        { signal },
      ),
      loadSaleTaxes(ctx, signal),
      countryCodes(ctx, signal),
      client.read(
        "account.move",
        invoiceIds,
        ["move_type", "state", "payment_state", "amount_total", "write_date"],
        signal,
      ),
    ]);
    const customerMoves = moves.filter((m) =>
      ["out_invoice", "out_refund"].includes(str(m, "move_type") ?? ""),
    );
    const products = await client.read(
      "product.product",
      uniq(lines.map((l) => many2one(l, "product_id")?.id)),
      ["default_code"],
      signal,
    );
    const sku = new Map(products.map((p) => [p.id, str(p, "default_code")]));
    const byId = new Map(partners.map((p) => [p.id, p]));
    return orders.map((order) => {
      const own = pickings.filter((p) => many2one(p, "sale_id")?.id === order.id);
      const invoiced = new Set(ids(order, "invoice_ids"));
      const invoices = customerMoves.filter((m) => invoiced.has(m.id));
      return {
        order,
        changedAt: latestWrite([order, ...own, ...invoices]),
        lines: lines
          .filter((l) => many2one(l, "order_id")?.id === order.id)
          .map((l) => ({ ...l, sku: sku.get(many2one(l, "product_id")?.id ?? 0) })),
        partners: byId,
        pickingStates: own.map((p) => str(p, "state") ?? ""),
        invoices,
        taxes,
        countries,
      };
    });
  };
  const load = async (orderIds: number[], signal?: AbortSignal) =>
    orderIds.length === 0
      ? []
      : enrich(
          await client.searchRead("sale.order", [["id", "in", orderIds], ...BASE], FIELDS, { signal }),
          signal,
        );
  // Payments, credit notes and deliveries change the order's status without writing the sale.order
  // (payment_state lives on the invoice, the picking state on the picking): they are children (rollup.ts).
  const spec: RollupSpec<OrderNative> = {
    sources: [
      {
        model: "sale.order",
        domain: BASE,
        fields: [],
        parentsOf: (rows) => rows.map((r) => r.id),
        parentField: "id",
      },
      {
        model: "stock.picking",
        domain: DELIVERIES,
        fields: ["sale_id"],
        parentsOf: (rows) => uniq(rows.map((r) => many2one(r, "sale_id")?.id)),
        parentField: "sale_id",
      },
      {
        model: "account.move",
        domain: CUSTOMER_MOVES,
        fields: ["move_type"],
        parentsOf: async (rows, signal) =>
          (
            await client.searchRead(
              "sale.order",
              [["invoice_ids", "in", rows.map((r) => r.id)], ...BASE],
              ["name"],
              { signal },
            )
          ).map((o) => o.id),
      },
    ],
    load,
    parentIdOf: (n) => n.order.id,
  };

  return {
    entity: "order",
    sorted: true,
    list: (req) => rollupPages(client, spec, req),
    async get(id) {
      const n = Number(id);
      return Number.isInteger(n) && n > 0 ? ((await load([n]))[0] ?? null) : null;
    },
    idOf: (n) => String(n.order.id),
    updatedAtOf: (n) => odooToIso(n.changedAt),
    toCanonical(n): Order {
      const o = n.order;
      const name = str(o, "name") ?? String(o.id);
      const key = orderKeyOf(ctx, o);
      const partner = n.partners.get(many2one(o, "partner_id")?.id ?? 0);
      const email = partner ? str(partner, "email") : undefined;
      if (!partner || !email) {
        throw new SyncError("data", `sale.order ${name}: the customer has no e-mail`, {
          field: "customer.email",
        });
      }
      const taxById = new Map(n.taxes.map((t) => [t.id, t]));
      const taxLines = (line: OdooRow): TaxLine[] => {
        const taxes = ids(line, "tax_id").flatMap((id) => taxById.get(id) ?? []);
        const total = num(line, "price_tax");
        return taxes.map((t, i) => ({
          title: t.name,
          rate: rateOf(t),
          // Odoo keeps one tax amount per line; with several taxes it is split by rate, the rest on the last.
          amount: money(
            i === taxes.length - 1
              ? total -
                  taxes.slice(0, -1).reduce((s, x) => s + (num(line, "price_subtotal") * x.percent) / 100, 0)
              : (num(line, "price_subtotal") * t.percent) / 100,
          ),
        }));
      };
      const lines: OrderLine[] = [];
      const discounts: Order["discounts"] = [];
      let shipping: Order["shipping"];
      for (const l of n.lines) {
        const qty = num(l, "product_uom_qty");
        const gross = qty * num(l, "price_unit");
        if (bool(l, "is_delivery")) {
          shipping = { title: str(l, "name") ?? "Shipping", amount: money(gross), taxes: taxLines(l) };
        } else if (l.sku === "DISCOUNT" || gross < 0) {
          discounts.push({ code: str(l, "name"), amount: money(-gross) });
        } else {
          if (!l.sku)
            throw new SyncError("data", `sale.order ${name}: line ${l.id} has a product without SKU`, {
              field: "lines.sku",
            });
          if (!Number.isInteger(qty) || qty <= 0) {
            throw new SyncError("data", `sale.order ${name}: line ${l.id} has quantity ${qty}`, {
              field: "lines.quantity",
            });
          }
          lines.push({
            sku: l.sku,
            title: str(l, "name"),
            quantity: qty,
            unitPrice: money(num(l, "price_unit")),
            discount: money((gross * num(l, "discount")) / 100),
            taxes: taxLines(l),
          });
        }
      }
      const address = (field: string) => {
        const p = n.partners.get(many2one(o, field)?.id ?? 0);
        return p
          ? addressOf(p, n.countries, { type: field === "partner_invoice_id" ? "billing" : "shipping" })
          : undefined;
      };
      return {
        source: ctx.name,
        sourceId: String(o.id),
        updatedAt: odooToIso(n.changedAt),
        key,
        number: str(o, "client_order_ref") ? afterPrefix(key) : name,
        placedAt: odooToIso(str(o, "date_order") ?? String(o.write_date)),
        currency: many2one(o, "currency_id")?.name ?? ctx.config.currency,
        customer: { key: email.trim().toLowerCase(), email: email.trim(), name: str(partner, "name") },
        billingAddress: address("partner_invoice_id"),
        shippingAddress: address("partner_shipping_id"),
        lines,
        shipping,
        discounts,
        taxesIncluded: n.lines.some((l) => ids(l, "tax_id").some((id) => taxById.get(id)?.priceInclude)),
        totalTax: money(num(o, "amount_tax")),
        total: money(num(o, "amount_total")),
        financialStatus: financialStatus(n.invoices, str(o, "state") === "cancel"),
        fulfillmentStatus: fulfillmentStatus(n.pickingStates),
        payments: [],
        cancelled: str(o, "state") === "cancel",
      };
    },
  };
}

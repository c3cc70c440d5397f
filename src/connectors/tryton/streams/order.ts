/**
 * Tryton sales → canonical Order, so what happens to a sale in the ERP (above all, its withdrawal) can
 * reach the shop it came from. A sale that carries a shop order key in its `reference` is keyed by it, and
 * so meets the shop order's own links; a sale entered in Tryton alone is keyed `<connection>:<number>` and
 * a shop never receives it (its order writer only updates orders it holds).
 *
 * Amounts are Tryton's, exact to the cent: each goods line's amount is quantity × unit price less what
 * Tryton rounded away (carried as the line's discount), the SHIP line is the shipping, DISCOUNT lines are
 * order discounts, and tax is the sale's tax total. Quoted and draft sales are not orders yet; a sale is
 * cancelled when Tryton cancelled it, or withdrew it with nothing sent (see writers/cancel.ts).
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Order } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { TrytonRow } from "../client.ts";
import { amount, bigOf, changedAt, isoDateOf } from "../codec.ts";
import { afterPrefix, nested, type TrytonContext } from "../context.ts";
import { id, ids, num, str } from "../fields.ts";
import { changedRecords, recordOfKey } from "../paging.ts";
import { saleWithdrawn } from "../writers/cancel.ts";
import { DISCOUNT_CODE, SHIPPING_CODE } from "../writers/order.ts";

export interface OrderNative {
  sale: TrytonRow;
  lines: TrytonRow[];
  moveStates: string[];
  email: string | undefined;
  changedAt: string;
}

const DOMAIN = [["state", "in", ["confirmed", "processing", "done", "cancelled"]]];
const FIELDS = [
  "number",
  "reference",
  "state",
  "sale_date",
  "party",
  "currency.code",
  "untaxed_amount",
  "tax_amount",
  "total_amount",
  "shipment_state",
  "invoice_state",
  "lines",
  "moves",
  "write_date",
  "create_date",
];

export function orderStream(ctx: TrytonContext): Stream<"order", OrderNative> {
  const { client } = ctx;
  const load = async (saleIds: number[], signal?: AbortSignal): Promise<Map<number, OrderNative>> => {
    const sales = await client.searchRead("sale.sale", [["id", "in", saleIds], ...DOMAIN], FIELDS, {
      signal,
    });
    const [lines, moves, parties] = await Promise.all([
      client.read(
        "sale.line",
        sales.flatMap((s) => ids(s, "lines")),
        ["sale", "type", "product.code", "description", "quantity", "unit_price", "amount", "write_date"],
        { signal },
      ),
      client.read(
        "stock.move",
        sales.flatMap((s) => ids(s, "moves")),
        ["state"],
        { signal },
      ),
      client.read("party.party", [...new Set(sales.flatMap((s) => id(s, "party") ?? []))], ["email"], {
        signal,
      }),
    ]);
    const moveState = new Map(moves.map((m) => [m.id, String(m.state)]));
    const email = new Map(parties.map((p) => [p.id, str(p, "email")]));
    const out = new Map<number, OrderNative>();
    for (const sale of sales) {
      out.set(sale.id, {
        sale,
        lines: lines.filter((l) => id(l, "sale") === sale.id && l.type === "line"),
        moveStates: ids(sale, "moves").flatMap((m) => moveState.get(m) ?? []),
        email: email.get(id(sale, "party") ?? 0),
        changedAt: changedAt(sale) ?? "1970-01-01T00:00:00.000Z",
      });
    }
    return out;
  };
  return {
    entity: "order",
    sorted: true,
    list: (req) =>
      changedRecords(
        client,
        [
          { model: "sale.sale", domain: DOMAIN, fields: [], parentsOf: (r) => [r.id] },
          {
            model: "sale.line",
            domain: [["sale.state", "in", DOMAIN[0]?.[2] as string[]]],
            fields: ["sale"],
            parentsOf: (r) => (id(r, "sale") ? [id(r, "sale") as number] : []),
          },
        ],
        req,
        load,
      ),
    get: (key) => recordOfKey(key, load),
    idOf: (n) => String(n.sale.id),
    updatedAtOf: (n) => n.changedAt,
    toCanonical(n): Order {
      const s = n.sale;
      const number = str(s, "number") ?? String(s.id);
      const reference = str(s, "reference");
      const currency = String(nested(s, "currency", "code") ?? "");
      if (!n.email) {
        throw new SyncError("data", `sale ${number} (sale.sale ${s.id}): its party has no e-mail address`, {
          system: ctx.name,
          field: "customer.email",
        });
      }
      const money = (v: unknown) => amount(v) ?? "0";
      const goods: Order["lines"] = [];
      let shipping: Big | null = null;
      const discounts: Order["discounts"] = [];
      for (const l of n.lines) {
        const code = String(nested(l, "product", "code") ?? "");
        const lineAmount = bigOf(l.amount) ?? new Big(0);
        if (code === SHIPPING_CODE) {
          shipping = (shipping ?? new Big(0)).plus(lineAmount);
        } else if (code === DISCOUNT_CODE) {
          discounts.push({ amount: lineAmount.neg().toFixed(2) });
        } else {
          const quantity = num(l, "quantity");
          const unit = bigOf(l.unit_price) ?? new Big(0);
          goods.push({
            sku: code,
            ...(str(l, "description") ? { title: str(l, "description") } : {}),
            quantity: Math.round(quantity),
            unitPrice: unit.toFixed(),
            // What Tryton rounded away from quantity × unit price, so the line adds up to Tryton's amount.
            discount: unit.times(quantity).minus(lineAmount).toFixed(),
            taxes: [],
          });
        }
      }
      const day = isoDateOf(s.sale_date);
      const state = str(s, "state");
      return {
        source: ctx.name,
        sourceId: String(s.id),
        updatedAt: n.changedAt,
        key: reference ?? `${ctx.name}:${number}`,
        number: reference ? afterPrefix(reference) : number,
        placedAt: day ? `${day}T00:00:00Z` : n.changedAt,
        currency,
        customer: { key: n.email.trim().toLowerCase(), email: n.email.trim() },
        lines: goods,
        ...(shipping !== null
          ? { shipping: { title: "Shipping", amount: shipping.toFixed(2), taxes: [] } }
          : {}),
        discounts,
        taxesIncluded: false,
        totalTax: money(s.tax_amount),
        total: money(s.total_amount),
        financialStatus: s.invoice_state === "paid" ? "paid" : "pending",
        fulfillmentStatus: s.shipment_state === "sent" ? "fulfilled" : "unfulfilled",
        payments: [],
        cancelled: saleWithdrawn(state, n.moveStates),
      };
    },
  };
}

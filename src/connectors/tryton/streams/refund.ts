/**
 * Tryton credit notes → canonical Refund: posted (or paid) customer invoices (account.invoice, type out) of
 * a negative total whose lines credit a sale's lines, one refund each, to give the money back on the shop
 * order the sale came from. Incremental on write_date (create_date for never-written notes), see paging.ts.
 *
 * A credit note reaches its sale through its lines' origin: a line of Tryton's own credit wizard (and of
 * Passerelle's credit notes, writers/refund.ts) credits an invoice line whose origin is the sale line; a
 * line may also name the sale line itself. A note crediting no sale line (entered by hand, on no sale) has
 * no order to refund and is not read; one crediting several sales is a failed record naming them.
 *
 * The order is the sale's `reference` (the shop order's key a synced order carries), else
 * `<connection>:<sale number>` (a sale entered in Tryton alone: the shop's writer skips it with the reason).
 * The refund's key is `<connection>:refund:<credit note number>`, except for a credit note Passerelle wrote
 * from a shop refund: its reference is that refund's key, which is then the record's key, so the shop's
 * writer knows its own refund coming back (core/refund.ts refundEchoReason).
 */
import { SyncError } from "../../../core/errors.ts";
import type { Refund } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import { isRefundKey } from "../../../core/refund.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { TrytonRow } from "../client.ts";
import { bigOf, changedAt, isoDateOf } from "../codec.ts";
import { afterPrefix, nested, type TrytonContext } from "../context.ts";
import { id, num, reference, str, uniq } from "../fields.ts";
import { changedRecords, recordOfKey } from "../paging.ts";

export interface CreditNoteNative {
  invoice: TrytonRow;
  /** The note's lines of type line (origin, product, quantity). */
  lines: TrytonRow[];
  /** The sales whose lines it credits (reference, number). */
  sales: TrytonRow[];
  /** Product id → its code (the SKU). */
  skus: Map<number, string>;
  changedAt: string;
}

const DOMAIN = [
  ["type", "=", "out"],
  ["state", "in", ["posted", "paid"]],
  ["total_amount", "<", 0],
];
const FIELDS = [
  "number",
  "reference",
  "description",
  "currency.code",
  "total_amount",
  "invoice_date",
  "write_date",
  "create_date",
];

/** The credit note's lines as refund lines: a product's code and the quantity credited, per SKU. */
export function refundLines(n: CreditNoteNative): Refund["lines"] {
  const bySku = new Map<string, number>();
  for (const l of n.lines) {
    const product = id(l, "product");
    const sku = product === undefined ? undefined : n.skus.get(product);
    const quantity = -num(l, "quantity");
    // A fraction of a unit or a line adding goods back is no quantity a shop refunds: the amount says it.
    if (!sku || quantity <= 0 || !Number.isInteger(quantity)) continue;
    bySku.set(sku, (bySku.get(sku) ?? 0) + quantity);
  }
  return [...bySku].map(([sku, quantity]) => ({ sku, quantity }));
}

export function creditNoteToCanonical(system: string, n: CreditNoteNative): Refund {
  const inv = n.invoice;
  const number = str(inv, "number");
  const total = bigOf(inv.total_amount);
  const currency = nested(inv, "currency", "code");
  if (!number || !total || typeof currency !== "string") {
    throw new SyncError(
      "data",
      `Tryton credit note account.invoice ${inv.id} lacks a number, a total or a currency`,
      {
        system,
        field: number ? "total_amount" : "number",
      },
    );
  }
  if (n.sales.length !== 1) {
    const names = n.sales.map((s) => str(s, "number") ?? String(s.id)).join(", ");
    throw new SyncError(
      "data",
      `Tryton credit note ${number} credits lines of ${n.sales.length} sales (${names}); a refund gives money back on one order`,
      { system, field: "lines.origin" },
    );
  }
  const sale = n.sales[0] as TrytonRow;
  const orderKey = str(sale, "reference") ?? `${system}:${str(sale, "number") ?? sale.id}`;
  const ref = str(inv, "reference");
  const description = str(inv, "description");
  const day = isoDateOf(inv.invoice_date);
  return {
    source: system,
    sourceId: String(inv.id),
    updatedAt: n.changedAt,
    key: ref && isRefundKey(ref) ? ref : `${system}:refund:${number}`,
    orderKey,
    orderNumber: afterPrefix(orderKey),
    currency,
    amount: total.neg().toFixed(minorUnits(currency)),
    lines: refundLines(n),
    reason: `Credit note ${number}${description ? `: ${description}` : ""}`,
    createdAt: day ? `${day}T00:00:00Z` : n.changedAt,
  };
}

export function refundStream(ctx: TrytonContext): Stream<"refund", CreditNoteNative> {
  const { client } = ctx;
  const load = async (invoiceIds: number[], signal?: AbortSignal): Promise<Map<number, CreditNoteNative>> => {
    const invoices = await client.searchRead(
      "account.invoice",
      [["id", "in", invoiceIds], ...DOMAIN],
      FIELDS,
      { signal },
    );
    const lines = await client.searchRead(
      "account.invoice.line",
      [
        ["invoice", "in", invoices.map((i) => i.id)],
        ["type", "=", "line"],
      ],
      ["invoice", "origin", "product", "quantity"],
      { signal },
    );
    // Credited invoice lines name the sale line; a credit line may also name it itself.
    const creditedIds = uniq(
      lines
        .map((l) => reference(l, "origin"))
        .map((o) => (o?.model === "account.invoice.line" ? o.id : undefined)),
    );
    const credited = await client.read("account.invoice.line", creditedIds, ["origin"], { signal });
    const saleLineOf = new Map<number, number>();
    for (const c of credited) {
      const o = reference(c, "origin");
      if (o?.model === "sale.line") saleLineOf.set(c.id, o.id);
    }
    const saleLineOfLine = (l: TrytonRow): number | undefined => {
      const o = reference(l, "origin");
      if (o?.model === "sale.line") return o.id;
      return o?.model === "account.invoice.line" ? saleLineOf.get(o.id) : undefined;
    };
    const saleLines = await client.read("sale.line", uniq(lines.map(saleLineOfLine)), ["sale"], { signal });
    const saleOfLine = new Map(saleLines.map((s) => [s.id, id(s, "sale")]));
    const [sales, products] = await Promise.all([
      client.read("sale.sale", uniq(saleLines.map((s) => id(s, "sale"))), ["reference", "number"], {
        signal,
      }),
      client.read("product.product", uniq(lines.map((l) => id(l, "product"))), ["code"], { signal }),
    ]);
    const skus = new Map(products.flatMap((p) => (str(p, "code") ? [[p.id, str(p, "code") as string]] : [])));
    const out = new Map<number, CreditNoteNative>();
    for (const invoice of invoices) {
      const own = lines.filter((l) => id(l, "invoice") === invoice.id);
      const saleIds = uniq(own.map((l) => saleOfLine.get(saleLineOfLine(l) ?? 0)));
      if (saleIds.length === 0) continue;
      out.set(invoice.id, {
        invoice,
        lines: own,
        sales: sales.filter((s) => saleIds.includes(s.id)),
        skus,
        changedAt: changedAt(invoice) ?? "1970-01-01T00:00:00.000Z",
      });
    }
    return out;
  };
  return {
    entity: "refund",
    sorted: true,
    list: (req) =>
      changedRecords(
        client,
        [{ model: "account.invoice", domain: DOMAIN, fields: [], parentsOf: (r) => [r.id] }],
        req,
        load,
      ),
    get: (key) => recordOfKey(key, load),
    idOf: (n) => String(n.invoice.id),
    updatedAtOf: (n) => n.changedAt,
    toCanonical: (n) => creditNoteToCanonical(ctx.name, n),
  };
}

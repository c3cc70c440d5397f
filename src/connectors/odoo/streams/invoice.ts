import type { Invoice } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { many2one, money, num, str, uniq } from "../fields.ts";
import { keysetPages } from "../paging.ts";
import { odooDateToIso, odooToIso } from "../time.ts";

export interface InvoiceNative {
  move: OdooRow;
  order: OdooRow | undefined;
  email: string | undefined;
}

const FIELDS = [
  "name",
  "partner_id",
  "invoice_origin",
  "invoice_date",
  "currency_id",
  "amount_tax",
  "amount_total",
];
const BASE = [
  ["move_type", "=", "out_invoice"],
  ["state", "=", "posted"],
];

/** The document ref of an invoice's PDF: the report URL, fetched with a web session (see client.invoicePdf). */
export function invoicePdfRef(ctx: OdooContext, invoiceId: number): string {
  return `${ctx.client.url}/report/pdf/account.report_invoice/${invoiceId}`;
}

/** Posted customer invoices. The sale is found through invoice_origin (the sale order's name). */
export function invoiceStream(ctx: OdooContext): Stream<"invoice", InvoiceNative> {
  const { client } = ctx;
  const enrich = async (moves: OdooRow[], signal?: AbortSignal): Promise<InvoiceNative[]> => {
    const origins = [...new Set(moves.flatMap((m) => str(m, "invoice_origin") ?? []))];
    const [orders, partners] = await Promise.all([
      origins.length === 0
        ? Promise.resolve([])
        : client.searchRead("sale.order", [["name", "in", origins]], ["name", "client_order_ref"], {
            signal,
          }),
      client.read("res.partner", uniq(moves.map((m) => many2one(m, "partner_id")?.id)), ["email"], signal),
    ]);
    const email = new Map(partners.map((p) => [p.id, str(p, "email")]));
    return moves.map((move) => ({
      move,
      order: orders.find((o) => str(o, "name") === str(move, "invoice_origin")),
      email: email.get(many2one(move, "partner_id")?.id ?? 0),
    }));
  };
  return {
    entity: "invoice",
    sorted: true,
    async *list(req) {
      for await (const page of keysetPages(client, "account.move", BASE, FIELDS, req)) {
        yield await enrich(page, req.signal);
      }
    },
    async get(id) {
      const rows = await client.searchRead(
        "account.move",
        [["id", "=", Number(id)], ...BASE],
        [...FIELDS, "write_date"],
      );
      return rows.length === 0 ? null : ((await enrich(rows))[0] ?? null);
    },
    idOf: (n) => String(n.move.id),
    updatedAtOf: (n) => odooToIso(String(n.move.write_date)),
    toCanonical({ move, order, email }): Invoice {
      const name = str(move, "name") ?? String(move.id);
      const origin = str(move, "invoice_origin");
      const date = str(move, "invoice_date");
      return {
        source: ctx.name,
        sourceId: String(move.id),
        updatedAt: odooToIso(String(move.write_date)),
        key: `${ctx.name}:${name}`,
        number: name,
        kind: "invoice",
        orderKey: (order && str(order, "client_order_ref")) ?? (origin ? `${ctx.name}:${origin}` : undefined),
        customerKey: email?.trim().toLowerCase(),
        currency: many2one(move, "currency_id")?.name ?? ctx.config.currency,
        totalTax: money(num(move, "amount_tax")),
        total: money(num(move, "amount_total")),
        issuedAt: date ? odooDateToIso(date) : odooToIso(String(move.write_date)),
        document: { ref: invoicePdfRef(ctx, move.id), mimeType: "application/pdf" },
      };
    },
  };
}

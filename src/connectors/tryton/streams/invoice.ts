import { SyncError } from "../../../core/errors.ts";
import type { Invoice } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { TrytonRow } from "../client.ts";
import { amount, changedAt, isoDateOf } from "../codec.ts";
import { nested, type TrytonContext } from "../context.ts";
import { documentRef, reportFormat } from "../document.ts";
import { id, ids, str, uniq } from "../fields.ts";
import { changedRecords, recordOfKey } from "../paging.ts";

export interface InvoiceNative {
  invoice: TrytonRow;
  /** The format Tryton renders this invoice in ("pdf", "odt"…). */
  format: string;
  sale: TrytonRow | undefined;
  email: string | undefined;
  changedAt: string;
}

const DOMAIN = [
  ["type", "=", "out"],
  ["state", "in", ["posted", "paid"]],
];
const FIELDS = [
  "number",
  "party",
  "currency.code",
  "total_amount",
  "tax_amount",
  "invoice_date",
  "invoice_report_format",
  "write_date",
  "create_date",
];

/** The document ref of an invoice's rendering (see TrytonConnector.invoiceDocument). */
export function invoiceDocumentRef(ctx: TrytonContext, invoiceId: number): string {
  return `${ctx.name}:account.invoice/${invoiceId}`;
}

/**
 * Posted (and paid) customer invoices, credit notes included (negative totals). The order is the sale
 * whose invoices include it. The document is Tryton's own invoice report, named when it is a PDF: the
 * format cached on the posted invoice, else the format the report action converts to.
 */
export function invoiceStream(ctx: TrytonContext): Stream<"invoice", InvoiceNative> {
  const { client } = ctx;
  const formatOf = reportFormat(client, "account.invoice");
  const load = async (invoiceIds: number[], signal?: AbortSignal): Promise<Map<number, InvoiceNative>> => {
    const format = await formatOf(signal);
    const invoices = await client.searchRead(
      "account.invoice",
      [["id", "in", invoiceIds], ...DOMAIN],
      FIELDS,
      {
        signal,
      },
    );
    const [sales, parties] = await Promise.all([
      client.searchRead(
        "sale.sale",
        [["invoices", "in", invoices.map((i) => i.id)]],
        ["reference", "number", "invoices"],
        {
          signal,
        },
      ),
      client.read("party.party", uniq(invoices.map((i) => id(i, "party"))), ["email"], { signal }),
    ]);
    const email = new Map(parties.map((p) => [p.id, str(p, "email")]));
    const out = new Map<number, InvoiceNative>();
    for (const invoice of invoices) {
      out.set(invoice.id, {
        invoice,
        format: str(invoice, "invoice_report_format") ?? format,
        sale: sales.find((s) => ids(s, "invoices").includes(invoice.id)),
        email: email.get(id(invoice, "party") ?? 0),
        changedAt: changedAt(invoice) ?? "1970-01-01T00:00:00.000Z",
      });
    }
    return out;
  };
  return {
    entity: "invoice",
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
    toCanonical(n): Invoice {
      const inv = n.invoice;
      const number = str(inv, "number");
      const total = amount(inv.total_amount, 2, 2);
      const tax = amount(inv.tax_amount, 2, 2);
      const currency = nested(inv, "currency", "code");
      if (!number || total === undefined || tax === undefined || typeof currency !== "string") {
        throw new SyncError("data", `account.invoice ${inv.id} lacks a number, totals or currency`, {
          system: ctx.name,
          field: number ? "total" : "number",
        });
      }
      const day = isoDateOf(inv.invoice_date);
      const saleRef = str(n.sale, "reference");
      const saleNumber = str(n.sale, "number");
      return {
        source: ctx.name,
        sourceId: String(inv.id),
        updatedAt: n.changedAt,
        key: `${ctx.name}:${number}`,
        number,
        kind: total.startsWith("-") ? "credit_memo" : "invoice",
        orderKey: saleRef ?? (saleNumber ? `${ctx.name}:${saleNumber}` : undefined),
        customerKey: n.email?.trim().toLowerCase(),
        currency,
        totalTax: tax,
        total,
        issuedAt: day ? `${day}T00:00:00Z` : n.changedAt,
        document: documentRef(invoiceDocumentRef(ctx, inv.id), n.format),
      };
    },
  };
}

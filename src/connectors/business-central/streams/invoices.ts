/**
 * Sales invoices, tied to the shop's order by externalDocumentNumber: the order writer puts the shop order's
 * key there, and Business Central copies it onto the invoice made from the order. Draft invoices (status
 * Draft) are not yet documents and are left out. The invoice's PDF is a navigation of the page
 * (salesInvoices({id})/pdfDocument); this connector does not fetch it yet, so invoices carry no document.
 */
import type { Invoice } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { BcRow } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { GUID, listChanged, money, text, updatedAt } from "../paging.ts";

const INVOICE_FIELDS = [
  "id",
  "number",
  "externalDocumentNumber",
  "invoiceDate",
  "customerNumber",
  "currencyCode",
  "totalTaxAmount",
  "totalAmountIncludingTax",
  "status",
  "lastModifiedDateTime",
] as const;

export function invoiceStream(ctx: BusinessCentralContext): Stream<"invoice", BcRow> {
  return {
    entity: "invoice",
    sorted: true,
    list: (req) =>
      listChanged(ctx, { set: "salesInvoices", select: INVOICE_FIELDS, where: "status ne 'Draft'" }, req),
    async get(id) {
      if (!GUID.test(id)) return null;
      const row = await ctx.client.get(`salesInvoices(${id})`, { select: INVOICE_FIELDS });
      return row && row.status !== "Draft" ? row : null;
    },
    idOf: (row) => String(row.id),
    updatedAtOf: updatedAt,
    toCanonical(row): Invoice {
      const code = text(row.currencyCode);
      const currency = code && /^[A-Z]{3}$/.test(code) ? code : ctx.config.currency;
      const digits = minorUnits(currency);
      const ref = text(row.externalDocumentNumber);
      return {
        source: ctx.name,
        sourceId: String(row.id),
        updatedAt: updatedAt(row),
        key: `${ctx.name}:${String(row.number)}`,
        number: String(row.number),
        kind: "invoice",
        ...(ref ? { orderKey: ref } : {}),
        currency,
        totalTax: money(row.totalTaxAmount, digits),
        total: money(row.totalAmountIncludingTax, digits),
        issuedAt: `${String(row.invoiceDate ?? "1970-01-01").slice(0, 10)}T00:00:00Z`,
      };
    },
  };
}

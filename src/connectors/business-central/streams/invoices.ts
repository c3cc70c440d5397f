/**
 * Sales invoices, tied to the shop's order by externalDocumentNumber: the order writer puts the shop order's
 * key there, and Business Central copies it onto the invoice made from the order. Draft invoices (status
 * Draft) are not yet documents and are left out.
 *
 * The PDF: the page has the navigation `pdfDocument` (page "APIV2 - PDF Document", one entity per invoice:
 * id, parentId, parentType and the stream pdfDocumentContent). `GET salesInvoices({id})/pdfDocument`
 * answers it with `pdfDocumentContent@odata.mediaReadLink`; reading that link answers the PDF Business
 * Central renders with the invoice's report. Each invoice names its PDF `sales-invoice:<number>:<id>`,
 * which the connection's `document` fetches.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Invoice } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { DocumentFile, Stream } from "../../../ports/connector.ts";
import { type BcRow, BusinessCentralPlatform } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { GUID, listChanged, money, text, updatedAt } from "../paging.ts";

const REF = /^sales-invoice:(.{1,20}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

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
        document: {
          ref: `sales-invoice:${String(row.number)}:${String(row.id)}`,
          mimeType: "application/pdf",
        },
      };
    },
  };
}

/**
 * The PDF of a sales invoice named by an invoice's `document.ref`: its pdfDocument, then the content at
 * the entity's media link. An unknown invoice, or a PDF Business Central renders empty or not as a PDF, is
 * a data error naming the invoice.
 */
export async function salesInvoicePdf(
  ctx: BusinessCentralContext,
  ref: string,
  signal?: AbortSignal,
): Promise<DocumentFile> {
  const m = REF.exec(ref);
  if (!m)
    throw new SyncError(
      "data",
      `${ctx.name}: not a document ref of Business Central: ${JSON.stringify(ref)}`,
      {
        system: ctx.name,
        field: "ref",
      },
    );
  const [, number, id] = m as unknown as [string, string, string];
  const fail = (why: string) =>
    new SyncError("data", `${ctx.name}: sales invoice ${number} (${id}): ${why}`, {
      system: ctx.name,
      field: "pdfDocumentContent",
    });
  const doc = await ctx.client.get(`salesInvoices(${id})/pdfDocument`, signal ? { signal } : {});
  if (!doc) throw fail("Business Central has no such sales invoice, or no PDF document for it");
  const link = doc["pdfDocumentContent@odata.mediaReadLink"];
  const bytes = await new BusinessCentralPlatform(ctx.client).media(
    typeof link === "string" && link !== "" ? link : `salesInvoices(${id})/pdfDocument/pdfDocumentContent`,
    `PDF of sales invoice ${number}`,
    signal,
  );
  if (!bytes || bytes.length === 0) throw fail("Business Central rendered an empty PDF");
  if (Buffer.from(bytes.subarray(0, 5)).toString("latin1") !== "%PDF-")
    throw fail(
      `pdfDocumentContent is not a PDF (it starts ${JSON.stringify(Buffer.from(bytes.subarray(0, 8)).toString("latin1"))})`,
    );
  return { mimeType: "application/pdf", fileName: `sales-invoice-${number}.pdf`, bytes };
}

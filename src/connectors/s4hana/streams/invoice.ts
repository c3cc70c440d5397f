/**
 * Invoices: billing documents (A_BillingDocument of API_BILLING_DOCUMENT_SRV, items through to_Item) of the
 * configured sales area — invoices (SD document category M) and credit memos (O) — that are not cancelled.
 * S/4HANA copies the sales order's PurchaseOrderByCustomer onto the billing document, where the order writer
 * put the shop order's key (shop-ref.ts): that is the invoice's order; documents of orders no shop placed are
 * left out. Each item names its sales order (SalesDocument) and its delivery (ReferenceSDDocument).
 *
 * Amounts in the document currency (TransactionCurrency): the tax is TaxAmount, the total TotalNetAmount +
 * TaxAmount, rounded to the currency's minor units. Incremental on LastChangeDateTime (Edm.DateTimeOffset),
 * read in (LastChangeDateTime, BillingDocument) order. A cancelled document is no longer read (the shop keeps
 * what it was told; see docs/connectors/s4hana.md).
 *
 * The PDF: the service's function import GetPDF renders a billing document (GetPDFResult.BillingDocumentBinary,
 * base64); each invoice names it as `billing-document:<number>`, which the connection's `document` fetches.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Invoice } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { DocumentFile, Stream } from "../../../ports/connector.ts";
import type { S4Row } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { dateTimeOffsetLiteral, decimal, fromV2Date, literal } from "../odata.ts";
import { shopRefOf } from "./shop-ref.ts";

const BD = "API_BILLING_DOCUMENT_SRV" as const;
const REF = /^billing-document:([A-Za-z0-9]{1,10})$/;

export const BILLING_SELECT = [
  "BillingDocument",
  "SDDocumentCategory",
  "BillingDocumentType",
  "BillingDocumentDate",
  "BillingDocumentIsCancelled",
  "TotalNetAmount",
  "TaxAmount",
  "TransactionCurrency",
  "PurchaseOrderByCustomer",
  "CreationDate",
  "CreationTime",
  "LastChangeDateTime",
  "to_Item/BillingDocumentItem",
  "to_Item/SalesDocument",
  "to_Item/ReferenceSDDocument",
] as const;
const EXPAND = ["to_Item"] as const;

/** The document's last change: LastChangeDateTime, or its creation when S/4HANA left that empty. */
export function billingUpdatedAt(row: S4Row): string {
  return fromV2Date(row.LastChangeDateTime) ?? fromV2Date(row.CreationDate) ?? "1970-01-01T00:00:00.000Z";
}

export function billingFilter(ctx: S4HanaContext, since: string | null): string {
  return [
    `SalesOrganization eq ${literal(ctx.config.salesOrganization)}`,
    `DistributionChannel eq ${literal(ctx.config.distributionChannel)}`,
    "(SDDocumentCategory eq 'M' or SDDocumentCategory eq 'O')",
    "BillingDocumentIsCancelled eq false",
    ...(since ? [`LastChangeDateTime ge ${dateTimeOffsetLiteral(since)}`] : []),
  ].join(" and ");
}

export function invoiceOf(ctx: S4HanaContext, row: S4Row): Invoice {
  const id = String(row.BillingDocument);
  const fail = (message: string, field: string): never => {
    throw new SyncError("data", `billing document ${id}: ${message}`, { system: ctx.name, field });
  };
  const ref = shopRefOf(row.PurchaseOrderByCustomer);
  if (ref?.kind === "shortened")
    fail(
      `its shop reference is shortened (${ref.value}); the shop order's key cannot be read back`,
      "PurchaseOrderByCustomer",
    );
  const currency = typeof row.TransactionCurrency === "string" ? row.TransactionCurrency : "";
  if (!/^[A-Z]{3}$/.test(currency))
    fail(
      `TransactionCurrency ${JSON.stringify(row.TransactionCurrency)} is not an ISO 4217 code`,
      "TransactionCurrency",
    );
  const net = decimal(row.TotalNetAmount);
  const tax = decimal(row.TaxAmount);
  if (net === null)
    fail(`TotalNetAmount ${JSON.stringify(row.TotalNetAmount)} is not a decimal`, "TotalNetAmount");
  if (tax === null) fail(`TaxAmount ${JSON.stringify(row.TaxAmount)} is not a decimal`, "TaxAmount");
  const digits = minorUnits(currency);
  const issuedAt = fromV2Date(row.BillingDocumentDate) ?? fromV2Date(row.CreationDate);
  if (!issuedAt) fail("no billing date (BillingDocumentDate)", "BillingDocumentDate");
  return {
    source: ctx.name,
    sourceId: id,
    updatedAt: billingUpdatedAt(row),
    key: `${ctx.name}:${id}`,
    number: id,
    kind: row.SDDocumentCategory === "O" ? "credit_memo" : "invoice",
    ...(ref?.kind === "key" ? { orderKey: ref.key } : {}),
    currency,
    totalTax: new Big(tax as string).toFixed(digits),
    total: new Big(net as string).plus(tax as string).toFixed(digits),
    issuedAt: issuedAt as string,
    document: { ref: `billing-document:${id}`, mimeType: "application/pdf" },
  };
}

export function invoiceStream(ctx: S4HanaContext): Stream<"invoice", S4Row> {
  const ofShop = (r: S4Row) => shopRefOf(r.PurchaseOrderByCustomer) !== null;
  return {
    entity: "invoice",
    sorted: true,
    async *list(req) {
      for await (const page of ctx.client.list(BD, "A_BillingDocument", {
        filter: billingFilter(ctx, req.since?.updatedAt ?? null),
        orderby: "LastChangeDateTime asc,BillingDocument asc",
        select: BILLING_SELECT,
        expand: EXPAND,
        pageSize: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
        ...(req.signal ? { signal: req.signal } : {}),
      })) {
        const rows = page.filter(ofShop);
        if (rows.length > 0) yield rows;
      }
    },
    async get(id) {
      const row = await ctx.client.get(BD, "A_BillingDocument", id, {
        select: BILLING_SELECT,
        expand: EXPAND,
      });
      return row && ofShop(row) ? row : null;
    },
    idOf: (row) => String(row.BillingDocument),
    updatedAtOf: billingUpdatedAt,
    toCanonical: (row) => invoiceOf(ctx, row),
  };
}

/** The PDF of a billing document named by an invoice's `document.ref`, rendered by GetPDF. */
export async function billingPdf(
  ctx: S4HanaContext,
  ref: string,
  signal?: AbortSignal,
): Promise<DocumentFile> {
  const m = REF.exec(ref);
  if (!m)
    throw new SyncError("data", `${ctx.name}: not a document ref of SAP S/4HANA: ${JSON.stringify(ref)}`, {
      system: ctx.name,
      field: "ref",
    });
  const id = m[1] as string;
  const d = await ctx.client.callFunction(BD, "GetPDF", { BillingDocument: id }, signal);
  // OData V2 JSON puts a function's complex result under its name; a bare result is read as well.
  const result = (d.GetPDF ?? d) as S4Row;
  const b64 = result.BillingDocumentBinary;
  const bytes = typeof b64 === "string" ? Buffer.from(b64, "base64") : Buffer.alloc(0);
  if (bytes.subarray(0, 5).toString("latin1") !== "%PDF-")
    throw new SyncError("data", `${ctx.name}: GetPDF answered no PDF for billing document ${id}`, {
      system: ctx.name,
    });
  return {
    mimeType: "application/pdf",
    fileName: `billing-document-${id}.pdf`,
    bytes: new Uint8Array(bytes),
  };
}

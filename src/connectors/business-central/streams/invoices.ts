/**
 * Sales invoices and sales credit memos, tied to the shop's order by externalDocumentNumber: the order
 * writer puts the shop order's key there, and Business Central copies it onto the invoice made from the
 * order. A credit memo names the invoice it credits (invoiceNumber, the memo's "Applies-to Doc. No."), and
 * that invoice's externalDocumentNumber is the memo's order; a memo that names no invoice (or one Business
 * Central no longer lists) falls back to its own externalDocumentNumber. Drafts (status Draft) are not yet
 * documents and are left out, of both.
 *
 * One stream reads both entity sets, each incrementally on lastModifiedDateTime, and merges them in the
 * engine's (updatedAt, id) order: the stream stays sorted, so a sync interrupted between pages resumes from
 * its cursor, both sets read again from that instant (`ge`).
 *
 * The PDF: both pages have the navigation `pdfDocument` (page "APIV2 - PDF Document", one entity per
 * document: id, parentId, parentType and the stream pdfDocumentContent). `GET salesInvoices({id})/pdfDocument`
 * (or `salesCreditMemos({id})/pdfDocument`) answers it with `pdfDocumentContent@odata.mediaReadLink`; reading
 * that link answers the PDF Business Central renders with the document's report. Each invoice names its PDF
 * `sales-invoice:<number>:<id>`, each credit memo `sales-credit-memo:<number>:<id>`, which the connection's
 * `document` fetches.
 */
import { compareCursors } from "../../../core/cursor.ts";
import { SyncError } from "../../../core/errors.ts";
import type { Invoice } from "../../../core/model.ts";
import { minorUnits } from "../../../core/money.ts";
import type { DocumentFile, ListRequest, Stream } from "../../../ports/connector.ts";
import { type BcRow, BusinessCentralPlatform, literal } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { GUID, listChanged, money, text, updatedAt } from "../paging.ts";

const REF =
  /^(sales-invoice|sales-credit-memo):(.{1,20}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

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

const CREDIT_MEMO_FIELDS = [
  "id",
  "number",
  "externalDocumentNumber",
  "creditMemoDate",
  "customerNumber",
  "currencyCode",
  "totalTaxAmount",
  "totalAmountIncludingTax",
  "status",
  "lastModifiedDateTime",
  "invoiceId",
  "invoiceNumber",
] as const;

const NOT_DRAFT = "status ne 'Draft'";

/**
 * Where the connector keeps, on a credit memo's row, the externalDocumentNumber of the invoice it credits
 * (looked up once per page of memos). Not a field of the page: the connector's own, never sent.
 */
const CREDITED_REF = "passerelle:creditedInvoiceExternalDocumentNumber";

/** A credit memo's row: the only one of the two pages with creditMemoDate (selected on every memo read). */
const isCreditMemo = (row: BcRow) => "creditMemoDate" in row;

/**
 * The externalDocumentNumber of the invoices these credit memos credit, set on each memo's row: one
 * `salesInvoices` read for the page (`number eq … or …`), the posted invoices only.
 */
async function withCreditedRefs(
  ctx: BusinessCentralContext,
  memos: BcRow[],
  signal?: AbortSignal,
): Promise<BcRow[]> {
  const numbers = [...new Set(memos.map((m) => text(m.invoiceNumber)).filter((n) => n !== undefined))];
  const refs = new Map<string, string>();
  // A filter of a page's worth of numbers stays well under a URL's length; cut in chunks all the same.
  for (let at = 0; at < numbers.length; at += 40) {
    const chunk = numbers.slice(at, at + 40);
    for await (const page of ctx.client.list("salesInvoices", {
      filter: `(${chunk.map((n) => `number eq ${literal(n)}`).join(" or ")}) and ${NOT_DRAFT}`,
      select: ["id", "number", "externalDocumentNumber"],
      pageSize: ctx.config.pageSize,
      ...(signal ? { signal } : {}),
    })) {
      for (const inv of page) {
        const ref = text(inv.externalDocumentNumber);
        if (ref) refs.set(String(inv.number), ref);
      }
    }
  }
  for (const m of memos) {
    const ref = refs.get(text(m.invoiceNumber) ?? "");
    if (ref) m[CREDITED_REF] = ref;
  }
  return memos;
}

async function* creditMemoPages(ctx: BusinessCentralContext, req: ListRequest): AsyncGenerator<BcRow[]> {
  for await (const page of listChanged(
    ctx,
    { set: "salesCreditMemos", select: CREDIT_MEMO_FIELDS, where: NOT_DRAFT },
    req,
  ))
    yield await withCreditedRefs(ctx, page, req.signal);
}

/**
 * Two sorted sources as one, in the engine's (updatedAt, id) order, in pages of `size`. A source is read
 * only when its buffer runs dry, so each source's pages are requested as it pages them, one after another.
 */
async function* mergeSorted(sources: AsyncIterable<BcRow[]>[], size: number): AsyncGenerator<BcRow[]> {
  const heads = sources.map((s) => ({ it: s[Symbol.asyncIterator](), buf: [] as BcRow[], done: false }));
  const fill = async (h: (typeof heads)[number]) => {
    while (!h.done && h.buf.length === 0) {
      const r = await h.it.next();
      if (r.done) h.done = true;
      else h.buf.push(...r.value);
    }
  };
  const at = (row: BcRow) => ({ updatedAt: updatedAt(row), id: String(row.id) });
  let out: BcRow[] = [];
  try {
    for (;;) {
      await Promise.all(heads.map(fill));
      let next: (typeof heads)[number] | undefined;
      for (const h of heads) {
        const first = h.buf[0];
        // Strictly earlier only: on a tie the earlier source keeps its place, so each source's own order holds.
        if (first && (!next || compareCursors(at(first), at(next.buf[0] as BcRow)) < 0)) next = h;
      }
      if (!next) break;
      out.push(next.buf.shift() as BcRow);
      if (out.length >= size) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    // A reader that stops early (a stop between pages) closes both sets' reads.
    await Promise.all(heads.filter((h) => !h.done).map((h) => h.it.return?.(undefined)));
  }
}

export function invoiceStream(ctx: BusinessCentralContext): Stream<"invoice", BcRow> {
  return {
    entity: "invoice",
    sorted: true,
    list: (req) =>
      mergeSorted(
        [
          listChanged(ctx, { set: "salesInvoices", select: INVOICE_FIELDS, where: NOT_DRAFT }, req),
          creditMemoPages(ctx, req),
        ],
        Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
      ),
    async get(id) {
      if (!GUID.test(id)) return null;
      // The id alone does not say which page it is of: an invoice's first, as most documents are.
      const inv = await ctx.client.get(`salesInvoices(${id})`, { select: INVOICE_FIELDS });
      if (inv) return inv.status !== "Draft" ? inv : null;
      const memo = await ctx.client.get(`salesCreditMemos(${id})`, { select: CREDIT_MEMO_FIELDS });
      if (!memo || memo.status === "Draft") return null;
      return (await withCreditedRefs(ctx, [memo]))[0] ?? null;
    },
    idOf: (row) => String(row.id),
    updatedAtOf: updatedAt,
    toCanonical(row): Invoice {
      const memo = isCreditMemo(row);
      const code = text(row.currencyCode);
      const currency = code && /^[A-Z]{3}$/.test(code) ? code : ctx.config.currency;
      const digits = minorUnits(currency);
      const ref = (memo ? text(row[CREDITED_REF]) : undefined) ?? text(row.externalDocumentNumber);
      const number = String(row.number);
      const kind = memo ? "sales-credit-memo" : "sales-invoice";
      return {
        source: ctx.name,
        sourceId: String(row.id),
        updatedAt: updatedAt(row),
        // Posted invoices and posted credit memos have number series of their own, which may overlap.
        key: memo ? `${ctx.name}:credit-memo:${number}` : `${ctx.name}:${number}`,
        number,
        kind: memo ? "credit_memo" : "invoice",
        ...(ref ? { orderKey: ref } : {}),
        currency,
        // As Business Central gives them: a credit memo's totals are positive, like an invoice's.
        totalTax: money(row.totalTaxAmount, digits),
        total: money(row.totalAmountIncludingTax, digits),
        issuedAt: `${String((memo ? row.creditMemoDate : row.invoiceDate) ?? "1970-01-01").slice(0, 10)}T00:00:00Z`,
        document: { ref: `${kind}:${number}:${String(row.id)}`, mimeType: "application/pdf" },
      };
    },
  };
}

/**
 * The PDF of a sales invoice or credit memo named by a document's `document.ref`: its pdfDocument, then the
 * content at the entity's media link. An unknown document, or a PDF Business Central renders empty or not as
 * a PDF, is a data error naming the document.
 */
export async function salesDocumentPdf(
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
  const [, kind, number, id] = m as unknown as [string, string, string, string];
  const memo = kind.toLowerCase() === "sales-credit-memo";
  const set = memo ? "salesCreditMemos" : "salesInvoices";
  const what = memo ? "sales credit memo" : "sales invoice";
  const fail = (why: string) =>
    new SyncError("data", `${ctx.name}: ${what} ${number} (${id}): ${why}`, {
      system: ctx.name,
      field: "pdfDocumentContent",
    });
  const doc = await ctx.client.get(`${set}(${id})/pdfDocument`, signal ? { signal } : {});
  if (!doc) throw fail(`Business Central has no such ${what}, or no PDF document for it`);
  const link = doc["pdfDocumentContent@odata.mediaReadLink"];
  const bytes = await new BusinessCentralPlatform(ctx.client).media(
    typeof link === "string" && link !== "" ? link : `${set}(${id})/pdfDocument/pdfDocumentContent`,
    `PDF of ${what} ${number}`,
    signal,
  );
  if (!bytes || bytes.length === 0) throw fail("Business Central rendered an empty PDF");
  if (Buffer.from(bytes.subarray(0, 5)).toString("latin1") !== "%PDF-")
    throw fail(
      `pdfDocumentContent is not a PDF (it starts ${JSON.stringify(Buffer.from(bytes.subarray(0, 8)).toString("latin1"))})`,
    );
  return {
    mimeType: "application/pdf",
    fileName: `${memo ? "sales-credit-memo" : "sales-invoice"}-${number}.pdf`,
    bytes,
  };
}

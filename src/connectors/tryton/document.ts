/**
 * Documents: what Tryton's report service (`report.<report name>.execute`) hands back for a customer
 * invoice (`account.invoice`) or a customer shipment's delivery note (`stock.shipment.out.delivery_note`),
 * accepted only when it is a PDF. Tryton renders its OpenDocument template and converts it with LibreOffice
 * (`soffice --convert-to`) when the report action's extension is "pdf"; when soffice is missing or fails it
 * silently returns the OpenDocument text instead, and a posted invoice keeps whatever it rendered at
 * posting time (a delivery note is rendered afresh each time). Passing that off as a PDF would put a
 * broken attachment in front of a customer, so it is refused with what to fix.
 */
import { SyncError } from "../../core/errors.ts";
import type { DocumentRef } from "../../core/model.ts";
import type { TrytonClient } from "./client.ts";
import { bytesOf } from "./codec.ts";
import { str } from "./fields.ts";

export const PDF_MIME = "application/pdf";

/** The reports Passerelle fetches, by the model of the record they render. */
export const REPORTS = {
  "account.invoice": { report: "account.invoice", what: "invoice", cached: true },
  "stock.shipment.out": { report: "stock.shipment.out.delivery_note", what: "delivery note", cached: false },
} as const;
export type ReportModel = keyof typeof REPORTS;

export interface PdfDocument {
  format: "pdf";
  mimeType: typeof PDF_MIME;
  fileName: string;
  bytes: Uint8Array;
}

/** Whether the bytes start with the PDF header (`%PDF-`). */
export function isPdf(bytes: Uint8Array): boolean {
  return bytes.length >= 5 && Buffer.from(bytes.subarray(0, 5)).toString("latin1") === "%PDF-";
}

/** Names a format a human recognises: what soffice would have converted from. */
function describe(format: unknown, bytes: Uint8Array | undefined): string {
  const label = typeof format === "string" && format ? format : "an unnamed format";
  if (bytes && bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b)
    return `${label} (a zip: OpenDocument)`;
  return label;
}

/**
 * The PDF in a report result (`[format, data, direct print, file name]`), or a config error naming the
 * connection and the record and saying what the Tryton host needs.
 */
export function pdfOfReport(
  result: unknown,
  system: string,
  record: string,
  model: ReportModel = "account.invoice",
): PdfDocument {
  const { report, what, cached } = REPORTS[model];
  const [format, data, , name] = Array.isArray(result) ? result : [];
  const bytes = bytesOf(data);
  if (!bytes || bytes.length === 0) {
    throw new SyncError("permanent", `Tryton (connection "${system}") rendered nothing for ${record}`, {
      system,
    });
  }
  if (format !== "pdf" || !isPdf(bytes)) {
    throw new SyncError(
      "config",
      `Tryton (connection "${system}") rendered ${record} as ${describe(format, bytes)}, not as a PDF: ` +
        `the Tryton host needs LibreOffice (soffice on trytond's PATH) and the ${what} report ` +
        `(ir.action.report "${report}") set to extension "pdf"` +
        (cached
          ? " before invoices are posted; an invoice posted without them keeps its cached rendering until its invoice_report_cache is cleared"
          : ""),
      { system, field: cached ? "invoice_report_format" : "extension" },
    );
  }
  const base = typeof name === "string" && name.trim() ? name.trim() : record.replace(/\W+/g, "-");
  return { format: "pdf", mimeType: PDF_MIME, fileName: `${base}.pdf`, bytes };
}

/**
 * The format a report renders in — its action's output extension, else its template's — read once per
 * stream and read again after a failed read. A record's document is named only when this is "pdf".
 */
export function reportFormat(
  client: TrytonClient,
  report: string,
): (signal?: AbortSignal) => Promise<string> {
  let format: Promise<string> | null = null;
  return (signal) => {
    if (!format) {
      format = client
        .searchRead("ir.action.report", [["report_name", "=", report]], ["extension", "template_extension"], {
          signal,
        })
        .then(([r]) => str(r, "extension") ?? str(r, "template_extension") ?? "odt");
      format.catch(() => {
        format = null;
      });
    }
    return format;
  };
}

/** A record's document on its canonical form: named only when the report renders PDF, the one format the
 * model and the shops carry. */
export function documentRef(ref: string, format: string): DocumentRef | undefined {
  return format === "pdf" ? { ref, mimeType: PDF_MIME } : undefined;
}

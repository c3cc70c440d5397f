/**
 * Invoice documents: what Tryton's report service (`report.account.invoice.execute`) hands back, accepted
 * only when it is a PDF. Tryton renders its OpenDocument template and converts it with LibreOffice
 * (`soffice --convert-to`) when the report action's extension is "pdf"; when soffice is missing or fails it
 * silently returns the OpenDocument text instead, and a posted invoice keeps whatever it rendered at
 * posting time. Passing that off as a PDF would put a broken attachment in front of a customer, so it is
 * refused with what to fix.
 */
import { SyncError } from "../../core/errors.ts";
import { bytesOf } from "./codec.ts";

export const PDF_MIME = "application/pdf";

export interface InvoiceDocument {
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
 * connection and the invoice and saying what the Tryton host needs.
 */
export function pdfOfReport(result: unknown, system: string, invoice: string): InvoiceDocument {
  const [format, data, , name] = Array.isArray(result) ? result : [];
  const bytes = bytesOf(data);
  if (!bytes || bytes.length === 0) {
    throw new SyncError("permanent", `Tryton (connection "${system}") rendered nothing for ${invoice}`, {
      system,
    });
  }
  if (format !== "pdf" || !isPdf(bytes)) {
    throw new SyncError(
      "config",
      `Tryton (connection "${system}") rendered ${invoice} as ${describe(format, bytes)}, not as a PDF: ` +
        "the Tryton host needs LibreOffice (soffice on trytond's PATH) and the invoice report " +
        '(ir.action.report "account.invoice") set to extension "pdf" before invoices are posted; ' +
        "an invoice posted without them keeps its cached rendering until its invoice_report_cache is cleared",
      { system, field: "invoice_report_format" },
    );
  }
  const base = typeof name === "string" && name.trim() ? name.trim() : invoice.replace(/\W+/g, "-");
  return { format: "pdf", mimeType: PDF_MIME, fileName: `${base}.pdf`, bytes };
}

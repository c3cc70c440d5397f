import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SyncError } from "../../core/errors.ts";
import { TrytonConfig } from "./config.ts";
import { documentRef, isPdf, pdfOfReport } from "./document.ts";
import { createTrytonConnector } from "./index.ts";

/** A report result as trytond's JSON-RPC encodes it: [format, bytes, direct print, file name]. */
const result = (format: string, bytes: Buffer, name = "Invoice-INV2025-0007") => [
  format,
  { __class__: "bytes", base64: bytes.toString("base64") },
  false,
  name,
];
const pdf = Buffer.from("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
// The first bytes of an OpenDocument package: a zip whose first entry is the uncompressed "mimetype".
const odt = Buffer.concat([
  Buffer.from([0x50, 0x4b, 0x03, 0x04]),
  Buffer.alloc(26),
  Buffer.from("mimetypeapplication/vnd.oasis.opendocument.text"),
]);

describe("tryton invoice document", () => {
  test("a PDF report is returned as a PDF, named after Tryton's file name", () => {
    const doc = pdfOfReport(result("pdf", pdf), "erp", "account.invoice 7 (INV2025-0007)");
    assert.equal(doc.format, "pdf");
    assert.equal(doc.mimeType, "application/pdf");
    assert.equal(doc.fileName, "Invoice-INV2025-0007.pdf");
    assert.deepEqual(Buffer.from(doc.bytes), pdf);
  });

  test("an OpenDocument rendering is refused, naming the connection, the invoice and the fix", () => {
    const err = (() => {
      try {
        pdfOfReport(result("odt", odt), "erp", "account.invoice 7 (INV2025-0007)");
      } catch (e) {
        return e;
      }
      return assert.fail("an ODT rendering was accepted");
    })();
    assert.ok(err instanceof SyncError);
    assert.equal(err.kind, "config");
    assert.equal(err.details.system, "erp");
    assert.match(err.message, /connection "erp"/);
    assert.match(
      err.message,
      /account\.invoice 7 \(INV2025-0007\) as odt \(a zip: OpenDocument\), not as a PDF/,
    );
    assert.match(err.message, /needs LibreOffice/);
    assert.match(err.message, /extension "pdf"/);
  });

  test("a report labelled pdf whose bytes are not a PDF is refused too", () => {
    assert.throws(
      () => pdfOfReport(result("pdf", odt), "erp", "account.invoice 8"),
      (e: unknown) =>
        e instanceof SyncError && e.kind === "config" && /account\.invoice 8 as pdf/.test(e.message),
    );
  });

  test("an empty rendering is a permanent failure naming the invoice", () => {
    assert.throws(
      () => pdfOfReport(result("pdf", Buffer.alloc(0)), "erp", "account.invoice 9"),
      (e: unknown) =>
        e instanceof SyncError && e.kind === "permanent" && /account\.invoice 9/.test(e.message),
    );
  });

  test("without a file name from Tryton, the invoice names the file", () => {
    const doc = pdfOfReport(result("pdf", pdf, ""), "erp", "account.invoice 7");
    assert.equal(doc.fileName, "account-invoice-7.pdf");
  });

  test("PDF magic", () => {
    assert.equal(isPdf(new Uint8Array(pdf)), true);
    assert.equal(isPdf(new Uint8Array(odt)), false);
    assert.equal(isPdf(new Uint8Array(Buffer.from("%PDF"))), false);
  });

  test("the canonical invoice names a PDF rendering only", () => {
    assert.deepEqual(documentRef("erp:account.invoice/7", "pdf"), {
      ref: "erp:account.invoice/7",
      mimeType: "application/pdf",
    });
    assert.equal(documentRef("erp:account.invoice/7", "odt"), undefined);
  });

  test("a delivery note rendered as OpenDocument names its report, without the invoice cache's advice", () => {
    assert.throws(
      () => pdfOfReport(result("odt", odt), "erp", "stock.shipment.out 4 (CS4)", "stock.shipment.out"),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "config" &&
        /stock\.shipment\.out 4 \(CS4\) as odt/.test(e.message) &&
        /delivery note report \(ir\.action\.report "stock\.shipment\.out\.delivery_note"\) set to extension "pdf"/.test(
          e.message,
        ) &&
        !/invoice_report_cache/.test(e.message) &&
        e.details.field === "extension",
    );
  });

  test("a ref the connection does not serve is refused, naming the refs it does", async () => {
    const connector = createTrytonConnector(
      "erp",
      TrytonConfig.parse({ url: "http://127.0.0.1:9", db: "erp", username: "admin", password: "pw-123456" }),
    );
    for (const ref of ["erp:sale.sale/3", "shop:account.invoice/3", "erp:stock.shipment.out/x"]) {
      await assert.rejects(connector.document?.(ref) ?? Promise.resolve(), (e: unknown) => {
        assert.ok(e instanceof SyncError);
        assert.equal(e.kind, "data");
        assert.equal(e.details.field, "ref");
        assert.ok(e.message.includes(JSON.stringify(ref)), e.message);
        assert.match(e.message, /expected erp:account\.invoice\/<id> or erp:stock\.shipment\.out\/<id>/);
        return true;
      });
    }
  });
});

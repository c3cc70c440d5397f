/**
 * The sales invoice's PDF: each invoice read names its document, and the connection's `document` fetches it
 * through the page's `pdfDocument` navigation and the media read of `pdfDocumentContent`. An unknown
 * invoice, an empty PDF and a ref that is not Business Central's are data errors naming the invoice (or the
 * ref). Every request and answer is checked against the API v2.0 digest.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import { bcSettings } from "../../../test/fixtures/business-central-contract.ts";
import { SyncError } from "../../core/errors.ts";
import type { Invoice } from "../../core/model.ts";
import type { Connector } from "../../ports/connector.ts";
import { BusinessCentralConfig } from "./config.ts";
import { businessCentral } from "./index.ts";

const FAR = "2999-01-01T00:00:00Z";

describe("the Business Central invoice PDF", () => {
  let emu: BcEmulator;
  let conn: Connector;
  let invoiceId = "";
  let invoiceNumber = "";
  before(async () => {
    emu = await startBcEmulator({ items: 4, customers: 2 });
    conn = businessCentral.create("bc", BusinessCentralConfig.parse(bcSettings(emu)));
    const d = emu.data;
    const customer = [...d.customers.values()][0] as { id: string };
    const order = d.addOrderWithLines({ customerId: customer.id, externalDocumentNumber: "shop:#1001" }, [
      { lineType: "Item", lineObjectNumber: "ITEM-0001", quantity: 2 },
    ]);
    d.ship(order.id as string);
    const inv = d.invoice(order.id as string);
    invoiceId = inv.id as string;
    invoiceNumber = String(inv.number);
  });
  after(async () => {
    await conn.close();
    assert.deepEqual(emu.violations, [], "a request or answer broke the API v2.0 digest");
    await emu.close();
  });

  async function readInvoice(): Promise<Invoice> {
    const stream = conn.streams.invoice;
    assert.ok(stream);
    for await (const page of stream.list({ since: null, signpost: FAR, pageSize: 50 }))
      for (const row of page) {
        const inv = (await stream.toCanonical(row)) as Invoice;
        if (inv.sourceId === invoiceId) return inv;
      }
    throw new Error("the invoice was not read");
  }

  test("an invoice names its PDF, and document() answers the PDF Business Central renders", async () => {
    const inv = await readInvoice();
    assert.deepEqual(inv.document, {
      ref: `sales-invoice:${invoiceNumber}:${invoiceId}`,
      mimeType: "application/pdf",
    });
    assert.ok(conn.document);
    const file = await conn.document(inv.document.ref);
    assert.equal(file.mimeType, "application/pdf");
    assert.equal(file.fileName, `sales-invoice-${invoiceNumber}.pdf`);
    const text = Buffer.from(file.bytes).toString("latin1");
    assert.ok(text.startsWith("%PDF-"), "a PDF");
    assert.ok(text.trimEnd().endsWith("%%EOF"), "a whole PDF");
    assert.match(text, new RegExp(`Sales - Invoice ${invoiceNumber}`));
    // Reached as the contract says: the navigation first, then the stream by its media link.
    assert.equal(emu.checked.get("GET salesInvoices(id)/pdfDocument"), 1);
    assert.equal(emu.checked.get("GET salesInvoices(id)/pdfDocument/pdfDocumentContent"), 1);
  });

  test("an empty PDF is a data error naming the invoice, not a crash", async () => {
    emu.data.emptyPdf.add(invoiceId);
    try {
      await assert.rejects(
        () =>
          (conn.document as NonNullable<Connector["document"]>)(
            `sales-invoice:${invoiceNumber}:${invoiceId}`,
          ),
        (e: unknown) =>
          e instanceof SyncError &&
          e.kind === "data" &&
          e.message.includes(`sales invoice ${invoiceNumber}`) &&
          /empty PDF/.test(e.message),
      );
    } finally {
      emu.data.emptyPdf.delete(invoiceId);
    }
  });

  test("an invoice Business Central does not have is a data error naming it", async () => {
    const missing = "0b0e5a1c-0000-4000-8000-000000000001";
    await assert.rejects(
      () => (conn.document as NonNullable<Connector["document"]>)(`sales-invoice:S-INV9:${missing}`),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "data" &&
        e.message.includes(`sales invoice S-INV9 (${missing})`),
    );
  });

  test("a ref that is not a Business Central invoice's is refused before any call", async () => {
    const calls = conn.stats().calls;
    await assert.rejects(
      () => (conn.document as NonNullable<Connector["document"]>)("billing-document:90000001"),
      (e: unknown) => e instanceof SyncError && e.kind === "data" && /not a document ref/.test(e.message),
    );
    assert.equal(conn.stats().calls, calls);
  });
});

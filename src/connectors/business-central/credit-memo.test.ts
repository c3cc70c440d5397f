/**
 * Sales credit memos read as credit-memo invoices: the invoice stream reads posted invoices and posted
 * credit memos (drafts of neither), merged in (updatedAt, id) order and incrementally, each memo tied to the
 * shop order of the invoice it credits, with Business Central's (positive) totals and its own PDF, fetched
 * through the credit memo's pdfDocument. Every request and answer is checked against the API v2.0 digest.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type BcEmulator, startBcEmulator } from "@passerelle/emulators";
import { bcSettings } from "../../../test/fixtures/business-central-contract.ts";
import { type Cursor, compareCursors } from "../../core/cursor.ts";
import type { Invoice } from "../../core/model.ts";
import type { Connector, Stream } from "../../ports/connector.ts";
import type { BcRow } from "./client.ts";
import { BusinessCentralConfig } from "./config.ts";
import { businessCentral } from "./index.ts";

const FAR = "2999-01-01T00:00:00Z";
type Row = Record<string, unknown>;

describe("Business Central credit memos as credit-memo invoices", () => {
  let emu: BcEmulator;
  let conn: Connector;
  let stream: Stream<"invoice", BcRow>;
  /** Three invoiced shop orders: the first credited in full, the second in part (and a draft). */
  const invoices: Row[] = [];
  let full: Row;
  let part: Row;
  let draft: Row;

  before(async () => {
    emu = await startBcEmulator({ items: 4, customers: 2 });
    conn = businessCentral.create("bc", BusinessCentralConfig.parse({ ...bcSettings(emu), pageSize: 2 }));
    stream = conn.streams.invoice as Stream<"invoice", BcRow>;
    const d = emu.data;
    const customer = [...d.customers.values()][0] as { id: string };
    const invoiced = (n: number) => {
      const order = d.addOrderWithLines({ customerId: customer.id, externalDocumentNumber: `shop:#${n}` }, [
        { lineType: "Item", lineObjectNumber: "ITEM-0001", quantity: 3 },
      ]);
      d.ship(order.id as string);
      const inv = d.invoice(order.id as string);
      invoices.push(inv);
      return inv;
    };
    // Invoices and credit memos alternate in time, so only a merge reads them in order.
    invoiced(2001);
    invoiced(2002);
    full = d.creditMemo(invoices[0]?.id as string);
    invoiced(2003);
    // Made by hand, not from the order: no external document number, only the invoice it applies to.
    part = d.creditMemo(invoices[1]?.id as string, { share: 0.5, externalDocumentNumber: "" });
    draft = d.creditMemo(invoices[2]?.id as string, { draft: true });
  });
  after(async () => {
    await conn.close();
    assert.deepEqual(emu.violations, [], "a request or answer broke the API v2.0 digest");
    await emu.close();
  });

  async function read(since: Cursor | null = null): Promise<{ rows: BcRow[]; pages: number }> {
    const rows: BcRow[] = [];
    let pages = 0;
    for await (const page of stream.list({ since, signpost: FAR, pageSize: 2 })) {
      pages++;
      assert.ok(page.length > 0 && page.length <= 2, `a page of ${page.length}`);
      rows.push(...page);
    }
    return { rows, pages };
  }
  const canonical = async (row: BcRow) => (await stream.toCanonical(row)) as Invoice;
  const cursorOf = (row: BcRow): Cursor => ({ updatedAt: stream.updatedAtOf(row), id: stream.idOf(row) });

  test("one read holds the posted invoices and credit memos, in (updatedAt, id) order, drafts left out", async () => {
    const { rows, pages } = await read();
    assert.equal(pages, 3, "five documents in pages of two");
    assert.deepEqual(
      rows.map((r) => r.id),
      [invoices[0]?.id, invoices[1]?.id, full.id, invoices[2]?.id, part.id],
    );
    for (let i = 1; i < rows.length; i++)
      assert.ok(compareCursors(cursorOf(rows[i - 1] as BcRow), cursorOf(rows[i] as BcRow)) < 0, "sorted");
    assert.ok(!rows.some((r) => r.id === draft.id), "a draft credit memo is no document yet");
    // Both entity sets were read, each incrementally and in the stream's order.
    assert.ok(emu.checked.get("GET salesCreditMemos"));
    assert.ok(emu.checked.get("GET salesInvoices"));
  });

  test("a credit memo: kind credit_memo, its order through the invoice it credits, BC's positive totals", async () => {
    const { rows } = await read();
    const byId = new Map(await Promise.all(rows.map(async (r) => [r.id, await canonical(r)] as const)));
    const f = byId.get(full.id) as Invoice;
    const inv = byId.get(invoices[0]?.id) as Invoice;
    assert.equal(inv.kind, "invoice");
    assert.deepEqual(
      {
        kind: f.kind,
        key: f.key,
        number: f.number,
        orderKey: f.orderKey,
        total: f.total,
        totalTax: f.totalTax,
        issuedAt: f.issuedAt,
        document: f.document,
      },
      {
        kind: "credit_memo",
        key: `bc:credit-memo:${String(full.number)}`,
        number: String(full.number),
        orderKey: "shop:#2001",
        total: Number(full.totalAmountIncludingTax).toFixed(2),
        totalTax: Number(full.totalTaxAmount).toFixed(2),
        issuedAt: `${String(full.creditMemoDate)}T00:00:00Z`,
        document: {
          ref: `sales-credit-memo:${String(full.number)}:${String(full.id)}`,
          mimeType: "application/pdf",
        },
      },
    );
    assert.equal(f.total, inv.total, "a full credit memo credits the invoice's total, as a positive amount");
    assert.ok(!f.total.startsWith("-"));
    const p = byId.get(part.id) as Invoice;
    assert.equal(p.kind, "credit_memo");
    assert.equal(p.orderKey, "shop:#2002", "no external document number of its own: the credited invoice's");
    assert.equal(p.total, Number(part.totalAmountIncludingTax).toFixed(2));
  });

  test("incremental: from a cursor, only what changed at or after it, both sets; a read resumes mid-way", async () => {
    const { rows } = await read();
    // A sync stopped after its second page resumes from that page's last record.
    const resumed = await read(cursorOf(rows[3] as BcRow));
    const after = resumed.rows.filter((r) => compareCursors(cursorOf(r), cursorOf(rows[3] as BcRow)) > 0);
    assert.deepEqual(
      after.map((r) => r.id),
      rows.slice(4).map((r) => r.id),
    );
    // A credit memo posted later is read from the cursor of the last read, and the rest is not.
    const last = cursorOf(rows[rows.length - 1] as BcRow);
    const later = emu.data.creditMemo(invoices[2]?.id as string, { share: 0.25 });
    const next = (await read(last)).rows.filter((r) => compareCursors(cursorOf(r), last) > 0);
    assert.deepEqual(
      next.map((r) => r.id),
      [later.id],
    );
    assert.equal((await canonical(next[0] as BcRow)).orderKey, "shop:#2003");
  });

  test("get(): a credit memo by its id, tied to its order; a draft is none", async () => {
    const row = await stream.get(String(part.id));
    assert.ok(row);
    const c = await canonical(row);
    assert.equal(c.kind, "credit_memo");
    assert.equal(c.orderKey, "shop:#2002");
    assert.equal(await stream.get(String(draft.id)), null);
    const inv = await stream.get(String(invoices[0]?.id));
    assert.equal((await canonical(inv as BcRow)).kind, "invoice");
  });

  test("document(): the credit memo's own PDF, through its pdfDocument and the media read", async () => {
    assert.ok(conn.document);
    const file = await conn.document(`sales-credit-memo:${String(full.number)}:${String(full.id)}`);
    assert.equal(file.mimeType, "application/pdf");
    assert.equal(file.fileName, `sales-credit-memo-${String(full.number)}.pdf`);
    const text = Buffer.from(file.bytes).toString("latin1");
    assert.ok(text.startsWith("%PDF-") && text.trimEnd().endsWith("%%EOF"), "a whole PDF");
    assert.match(text, new RegExp(`Sales - Credit Memo ${String(full.number)}`));
    assert.equal(emu.checked.get("GET salesCreditMemos(id)/pdfDocument"), 1);
    assert.equal(emu.checked.get("GET salesCreditMemos(id)/pdfDocument/pdfDocumentContent"), 1);
    // A credit memo's ref names a credit memo: an invoice's id under it is no such credit memo.
    await assert.rejects(
      () =>
        (conn.document as NonNullable<Connector["document"]>)(
          `sales-credit-memo:X1:${String(invoices[0]?.id)}`,
        ),
      (e: unknown) => e instanceof Error && e.message.includes("sales credit memo X1"),
    );
  });
});

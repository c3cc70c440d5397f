/**
 * Cancelling a Tryton sale because the shop cancelled its order.
 *
 * Tryton 6.0 cancels only draft and quoted sales. A confirmed sale is processed at once (its customer
 * shipment and draft invoice are created), and the way Tryton's own users withdraw it is: cancel the
 * shipment and the draft invoice, then answer the two exceptions this raises by ignoring the cancelled moves
 * and invoices (the `sale.handle.shipment.exception` and `sale.handle.invoice.exception` wizards). The sale
 * ends `done` with nothing shipped and nothing invoiced, and its stock reservation is released. That is only
 * right while nothing has left the warehouse and no invoice is posted; otherwise a person decides (a return,
 * a credit note), so the record is refused with the reason and waits in the failed-records inbox while the
 * flow goes on.
 */
import { SyncError } from "../../../core/errors.ts";
import type { Order } from "../../../core/model.ts";
import type { TrytonRow } from "../client.ts";
import type { TrytonContext } from "../context.ts";
import { ids, str } from "../fields.ts";

/** Shipment states in which goods may already be on their way: picked, packed or sent. */
const LEFT_THE_SHELF = new Set(["picked", "packed", "done"]);
/** Invoice states that are booked: only a credit note undoes them. */
const BOOKED = new Set(["posted", "paid"]);

/** Whether a sale read with `state` and its moves' states is already withdrawn (cancelled, or done with nothing sent). */
export function saleWithdrawn(state: string | undefined, moveStates: string[]): boolean {
  if (state === "cancelled") return true;
  return state === "done" && moveStates.length > 0 && moveStates.every((s) => s === "cancelled");
}

/** What the shop says it gave back, for the trace: "the shop refunded 12.30 EUR" or "no refund recorded". */
export function refundNote(order: Order): string {
  const refunds = order.refunds ?? [];
  if (refunds.length === 0) {
    return order.financialStatus === "paid"
      ? "the shop records no refund yet (payment still held)"
      : "no payment to refund";
  }
  const parts = refunds.map((r) => `${r.amount} ${order.currency}${r.reason ? ` (${r.reason})` : ""}`);
  return `the shop refunded ${parts.join(" + ")}`;
}

export interface CancelOutcome {
  /** False when the sale was already withdrawn: nothing written. */
  changed: boolean;
  note: string;
}

/**
 * Withdraws `saleId` in Tryton for the cancelled `order`, or throws a permanent SyncError naming what a
 * person has to undo first (a shipment on its way, a posted invoice).
 */
export async function cancelSale(
  ctx: TrytonContext,
  saleId: number,
  order: Order,
  signal?: AbortSignal,
): Promise<CancelOutcome> {
  const { client } = ctx;
  const system = ctx.name;
  const what = `order ${order.key} (sale.sale ${saleId})`;
  const [sale] = await client.read(
    "sale.sale",
    [saleId],
    ["state", "number", "shipments", "invoices", "moves", "comment"],
    { signal },
  );
  if (!sale) throw new SyncError("permanent", `${what}: the sale no longer exists in Tryton`, { system });
  const state = str(sale, "state");
  const number = str(sale, "number") ?? String(saleId);
  const refunds = refundNote(order);
  const [shipments, invoices, moves] = await Promise.all([
    client.read("stock.shipment.out", ids(sale, "shipments"), ["state", "number"], { signal }),
    client.read("account.invoice", ids(sale, "invoices"), ["state", "number"], { signal }),
    client.read("stock.move", ids(sale, "moves"), ["state"], { signal }),
  ]);
  if (
    saleWithdrawn(
      state,
      moves.map((m) => String(m.state)),
    )
  ) {
    return { changed: false, note: `sale ${number} was already withdrawn in Tryton; ${refunds}` };
  }
  const refuse = (why: string) =>
    new SyncError(
      "permanent",
      `${what} was cancelled in the shop, but ${why}: Passerelle leaves it to a person in Tryton (${refunds})`,
      { system, field: "cancelled" },
    );
  const sent = shipments.filter((s) => LEFT_THE_SHELF.has(String(s.state)));
  if (sent.length > 0 || moves.some((m) => m.state === "done")) {
    const names = sent.map((s) => `${str(s, "number") ?? s.id} (${String(s.state)})`).join(", ");
    throw refuse(`sale ${number} has goods on their way${names ? `: shipment ${names}` : ""}`);
  }
  const booked = invoices.filter((i) => BOOKED.has(String(i.state)));
  if (booked.length > 0) {
    const names = booked.map((i) => `${str(i, "number") ?? i.id} (${String(i.state)})`).join(", ");
    throw refuse(`sale ${number} is invoiced (${names}); it needs a credit note`);
  }

  const stamp = `Cancelled in the shop (${order.key}) on ${new Date().toISOString().slice(0, 10)}; ${refunds}.`;
  await client.write(
    "sale.sale",
    [saleId],
    { comment: [str(sale, "comment"), stamp].filter(Boolean).join("\n") },
    `sale.sale.write (comment) for ${what}`,
    signal,
  );
  if (state === "draft" || state === "quotation" || state === "confirmed") {
    if (state === "confirmed") {
      await client.model("sale.sale", "draft", [[saleId]], { what: `sale.sale.draft for ${what}`, signal });
    }
    await client.model("sale.sale", "cancel", [[saleId]], { what: `sale.sale.cancel for ${what}`, signal });
    return { changed: true, note: `sale ${number} cancelled in Tryton; ${refunds}` };
  }

  const open = (rows: TrytonRow[]) => rows.filter((r) => r.state !== "cancelled").map((r) => r.id);
  const openShipments = open(shipments);
  const openInvoices = open(invoices);
  if (openShipments.length > 0) {
    await client.model("stock.shipment.out", "cancel", [openShipments], {
      what: `stock.shipment.out.cancel for ${what}`,
      signal,
    });
  }
  if (openInvoices.length > 0) {
    await client.model("account.invoice", "cancel", [openInvoices], {
      what: `account.invoice.cancel for ${what}`,
      signal,
    });
  }
  // Both wizards: everything cancelled above is ignored, nothing recreated.
  await runWizard(
    ctx,
    "sale.handle.shipment.exception",
    saleId,
    {
      ask: { recreate_moves: [], domain_moves: ids(sale, "moves") },
    },
    signal,
  );
  if (ids(sale, "invoices").length > 0) {
    await runWizard(
      ctx,
      "sale.handle.invoice.exception",
      saleId,
      {
        ask: { recreate_invoices: [], domain_invoices: ids(sale, "invoices") },
      },
      signal,
    );
  }
  return {
    changed: true,
    note: `sale ${number} withdrawn in Tryton (shipment${openShipments.length === 1 ? "" : "s"} and draft invoice cancelled, sale done with nothing sent); ${refunds}`,
  };
}

/** Runs a wizard on one sale to its `handle` transition with the given form data. */
async function runWizard(
  ctx: TrytonContext,
  wizard: string,
  saleId: number,
  data: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<void> {
  const context = { active_id: saleId, active_ids: [saleId], active_model: "sale.sale" };
  const opts = { what: `${wizard} for sale.sale ${saleId}`, context, ...(signal ? { signal } : {}) };
  const created = await ctx.client.call(`wizard.${wizard}.create`, [], opts);
  const sid = Array.isArray(created) ? created[0] : undefined;
  if (typeof sid !== "number") {
    throw new SyncError("permanent", `Tryton did not start the ${wizard} wizard for sale.sale ${saleId}`, {
      system: ctx.name,
    });
  }
  try {
    await ctx.client.call(`wizard.${wizard}.execute`, [sid, data, "handle"], opts);
  } finally {
    await ctx.client.call(`wizard.${wizard}.delete`, [sid], opts).catch(() => undefined);
  }
}

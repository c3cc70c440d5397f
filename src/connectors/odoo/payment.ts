/**
 * An Odoo sale's financial and fulfilment status, from its customer invoices / credit notes (account.move)
 * and its outgoing deliveries (stock.picking).
 *
 * Financial status, decided on posted documents only (a draft invoice is not a claim on the customer):
 * - no posted invoice: "pending", or "voided" when the sale is cancelled (nothing owed, nothing to collect);
 * - posted credit notes covering the posted invoices: "refunded"; covering part of them: "partially_refunded";
 * - every posted invoice paid (payment_state "paid", or "in_payment": registered, awaiting bank
 *   reconciliation): "paid";
 * - otherwise (posted, unpaid or partly paid): "pending". Not "authorized": in the shop's vocabulary that is
 *   a card hold waiting for capture, while an unpaid Odoo invoice is money due, which is what "pending" says.
 *   The canonical model has no "partially_paid", so a partly paid invoice is "pending" too.
 */
import Big from "big.js";
import type { Order } from "../../core/model.ts";
import type { OdooRow } from "./client.ts";
import { num, str } from "./fields.ts";

const PAID = new Set(["paid", "in_payment"]);

export function financialStatus(invoices: OdooRow[], cancelled: boolean): Order["financialStatus"] {
  const posted = invoices.filter((m) => str(m, "state") === "posted");
  const out = posted.filter((m) => str(m, "move_type") === "out_invoice");
  const refunds = posted.filter((m) => str(m, "move_type") === "out_refund");
  if (out.length === 0) return cancelled ? "voided" : "pending";
  const sum = (ms: OdooRow[]) => ms.reduce((s, m) => s.plus(num(m, "amount_total")), new Big(0));
  const invoiced = sum(out);
  const refunded = sum(refunds);
  if (refunded.gt(0)) return refunded.gte(invoiced) ? "refunded" : "partially_refunded";
  return out.every((m) => PAID.has(str(m, "payment_state") ?? "")) ? "paid" : "pending";
}

/** From the states of the sale's outgoing pickings; cancelled ones do not count. */
export function fulfillmentStatus(pickingStates: string[]): Order["fulfillmentStatus"] {
  const done = pickingStates.filter((s) => s === "done").length;
  const open = pickingStates.filter((s) => s !== "done" && s !== "cancel").length;
  return done > 0 && open === 0 ? "fulfilled" : done > 0 ? "partial" : "unfulfilled";
}

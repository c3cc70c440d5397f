/**
 * The rules a refund must meet before an ERP credits it (pure): its breakdown adds up to its amount, it
 * gives back no more than was invoiced minus what was already credited, and the credit note's lines (net,
 * taxes on top, as ERPs book them) add up to the refund to the cent.
 */
import Big from "big.js";
import { SyncError } from "./errors.ts";
import type { Refund } from "./model.ts";
import { minorUnits } from "./money.ts";

export type RefundCheck = { ok: true } | { ok: false; field: string; reason: string };

/**
 * Whether a refund's breakdown (items + shipping + adjustment, when the source gives one) equals its
 * amount, as an order's lines, taxes and shipping must equal its total. A refund of an amount alone passes.
 */
export function refundTotalCheck(refund: Refund): RefundCheck {
  const b = refund.breakdown;
  if (!b) return { ok: true };
  const sum = new Big(b.items).plus(b.shipping).plus(b.adjustment);
  if (sum.eq(refund.amount)) return { ok: true };
  return {
    ok: false,
    field: "amount",
    reason: `refund ${refund.key}: amount ${refund.amount} ${refund.currency} differs from items ${b.items} + shipping ${b.shipping} + adjustment ${b.adjustment} = ${sum.toFixed()} ${refund.currency}`,
  };
}

/**
 * Whether the refund fits in what is left to credit on its order: invoiced (the posted invoices' totals)
 * minus already credited (the credit notes made before, this refund's own excepted), in the same currency.
 */
export function creditableCheck(
  refund: Refund,
  invoiced: { currency: string; total: string; credited: string },
): RefundCheck {
  if (invoiced.currency !== refund.currency) {
    return {
      ok: false,
      field: "currency",
      reason: `refund ${refund.key}: currency ${refund.currency} is not the currency of order ${refund.orderKey}'s invoices (${invoiced.currency})`,
    };
  }
  const left = new Big(invoiced.total).minus(invoiced.credited);
  if (new Big(refund.amount).lte(left)) return { ok: true };
  return {
    ok: false,
    field: "amount",
    reason: `refund ${refund.key}: amount ${refund.amount} ${refund.currency} exceeds what is left to credit on order ${refund.orderKey}: invoiced ${new Big(invoiced.total).toFixed()} − already credited ${new Big(invoiced.credited).toFixed()} = ${left.toFixed()} ${refund.currency}`,
  };
}

/** A group of invoice lines sharing the same taxes: its rates (fractions) and its amount taxes included. */
export interface TaxGroup {
  rates: string[];
  gross: string;
}

export interface CreditLine {
  /** Index of the group in the input. */
  group: number;
  /** Net amount of the credit line (taxes on top), in the currency's minor unit. */
  net: string;
  /** The taxes the ERP computes on `net`, one per rate, each rounded the ERP's way (`TaxRounding`). */
  taxes: string[];
  /** A rounding line: booked without the group's taxes (see creditLines). */
  untaxed?: true;
}

/**
 * How the ERP rounds a line's tax to the currency's minor unit: Tryton half to even, Odoo (its default
 * "round per line") half up.
 */
export type TaxRounding = "half-even" | "half-up";

/**
 * Splits a refund (taxes included) over the invoice's tax groups in proportion to their amounts, each
 * share written as a net amount whose taxes, computed and rounded the ERP's way, bring it back to the share
 * to the cent. Some shares no net amount reaches (at 25 %, a net of 0.05 makes 0.06 and 0.06 makes 0.08:
 * nothing makes 0.07); the share is then the largest net below it plus a rounding line of the cent(s) left,
 * untaxed. Returns null when there is nothing to split over.
 */
export function creditLines(
  amount: string,
  groups: TaxGroup[],
  currency: string,
  rounding: TaxRounding = "half-even",
): CreditLine[] | null {
  const mode = rounding === "half-up" ? Big.roundHalfUp : Big.roundHalfEven;
  const digits = minorUnits(currency);
  const total = groups.reduce((s, g) => s.plus(g.gross), new Big(0));
  if (groups.length === 0 || total.lte(0)) return null;
  const step = new Big(1).div(10 ** digits);
  const lines: CreditLine[] = [];
  let left = new Big(amount);
  for (const [i, g] of groups.entries()) {
    const share =
      i === groups.length - 1
        ? left
        : new Big(amount).times(g.gross).div(total).round(digits, Big.roundHalfUp);
    left = left.minus(share);
    if (share.eq(0)) continue;
    const rate = g.rates.reduce((s, r) => s.plus(r), new Big(0));
    const taxesOf = (net: Big) => g.rates.map((r) => net.times(r).round(digits, mode));
    const grossOf = (net: Big) => taxesOf(net).reduce((s, t) => s.plus(t), net);
    // The gross grows with the net: walk from the estimate to the largest net whose gross is not above.
    let net = share.div(rate.plus(1)).round(digits, Big.roundDown);
    while (grossOf(net).gt(share) && net.gt(0)) net = net.minus(step);
    while (grossOf(net.plus(step)).lte(share)) net = net.plus(step);
    const rest = share.minus(grossOf(net));
    if (net.gt(0)) {
      lines.push({ group: i, net: net.toFixed(digits), taxes: taxesOf(net).map((t) => t.toFixed(digits)) });
    }
    if (rest.gt(0)) lines.push({ group: i, net: rest.toFixed(digits), taxes: [], untaxed: true });
  }
  return lines;
}

/** An invoice line a credit note can credit: its amount without taxes and its taxes' ids. */
export interface CreditableLine {
  amount: string;
  taxes: number[];
}

/** What an ERP writer found for a refund's order. */
export interface CreditableFacts<L extends CreditableLine> {
  /** The order's posted customer invoices (positive totals). */
  invoices: { total: string; currency: string }[];
  lines: L[];
  /** A tax id's rate, as a fraction. */
  rateOf: (tax: number) => string | undefined;
  /** Total already credited on those invoices by other credit notes (a positive amount). */
  credited: string;
}

/** A credit note line: the invoice line it credits (one per tax group), its net, and its taxes' ids. */
export interface PlannedCreditLine<L> {
  line: L;
  net: string;
  /** The group's tax ids; empty for a rounding line. */
  taxes: number[];
  /** A rounding line (creditLines' untaxed cent), as opposed to a line of a group without taxes. */
  rounding: boolean;
}

/**
 * What an ERP credits for a refund, or why not (the decisions every ERP refund writer shares): retryable
 * while the order has no posted invoice; refused (data, naming the field) above what is left to credit or in
 * another currency; the amount split over the invoice lines grouped by their taxes, a group weighing its
 * amount with its taxes, each credit line crediting the group's first invoice line.
 */
export function planCredit<L extends CreditableLine>(
  refund: Refund,
  facts: CreditableFacts<L>,
  erp: { name: string; system: string; rounding?: TaxRounding },
): { ok: true; lines: PlannedCreditLine<L>[] } | { ok: false; error: SyncError } {
  const { system } = erp;
  if (facts.invoices.length === 0) {
    return {
      ok: false,
      error: new SyncError(
        "retryable",
        `refund ${refund.key}: order ${refund.orderKey} has no posted invoice in ${erp.name} yet; the refund is credited once an invoice is posted (retried)`,
        { system, field: "orderKey" },
      ),
    };
  }
  const currencies = [...new Set(facts.invoices.map((i) => i.currency))];
  const total = facts.invoices.reduce((s, i) => s.plus(i.total), new Big(0));
  const check = creditableCheck(refund, {
    currency: currencies.length === 1 ? (currencies[0] as string) : currencies.join("/"),
    total: total.toFixed(),
    credited: facts.credited,
  });
  if (!check.ok) {
    return { ok: false, error: new SyncError("data", check.reason, { system, field: check.field }) };
  }
  const groups = new Map<string, { rates: string[]; gross: Big; first: L; taxes: number[] }>();
  for (const line of facts.lines) {
    const taxes = [...line.taxes].sort((a, b) => a - b);
    const key = taxes.join(",");
    const rates = taxes.map((t) => facts.rateOf(t) ?? "0");
    const gross = new Big(line.amount).times(rates.reduce((s, r) => s.plus(r), new Big(1)));
    const g = groups.get(key);
    if (g) g.gross = g.gross.plus(gross);
    else groups.set(key, { rates, gross, first: line, taxes });
  }
  const list = [...groups.values()].filter((g) => g.gross.gt(0));
  const taxGroups: TaxGroup[] = list.map((g) => ({ rates: g.rates, gross: g.gross.toFixed() }));
  const split = creditLines(refund.amount, taxGroups, refund.currency, erp.rounding);
  if (!split) {
    return {
      ok: false,
      error: new SyncError(
        "data",
        `refund ${refund.key}: order ${refund.orderKey}'s posted invoices have no line of a positive amount to credit`,
        { system, field: "orderKey" },
      ),
    };
  }
  return {
    ok: true,
    lines: split.map((l) => {
      const g = list[l.group] as { first: L; taxes: number[] };
      const rounding = l.untaxed === true;
      return { line: g.first, net: l.net, taxes: rounding ? [] : g.taxes, rounding };
    }),
  };
}

/**
 * A refund travels between two systems and back: a shop refund Passerelle credits in the ERP is read again
 * from the ERP as a credit note, an ERP credit note Passerelle refunds in the shop is read again from the
 * shop. Both keep the refund's key on what Passerelle wrote (the credit note's reference, the shop refund's
 * reason), so the reading side gives the record the key it had, and a refund whose key names the system
 * about to be written came from there: it is an echo, never written back.
 */
export function refundEchoReason(refund: Refund, target: string): string | null {
  if (!refund.key.startsWith(`${target}:`)) return null;
  return `refund ${refund.key} came from ${target} (Passerelle wrote it from there into ${refund.source}); not written back`;
}

/** A refund key as Passerelle writes them: `<connection>:refund:<id>` (no spaces or brackets). */
const REFUND_KEY = /^[A-Za-z0-9_.-]+:refund:[^\s[\]]+$/;

export function isRefundKey(text: string): boolean {
  return REFUND_KEY.test(text);
}

/** The mark ending a refund's reason where the system keeps a reason but no reference of ours: ` [<key>]`. */
export function refundMark(key: string): string {
  return ` [${key}]`;
}

/** The refund key a reason ends with (see refundMark), or null. */
export function refundKeyOfReason(reason: string | null | undefined): string | null {
  const m = reason ? / ?\[([^\s[\]]+)\]$/.exec(reason) : null;
  return m && isRefundKey(m[1] as string) ? (m[1] as string) : null;
}

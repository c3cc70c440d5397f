/**
 * Canonical Refund → a Tryton credit note: a customer invoice (account.invoice, type out) with negative
 * lines, on the posted invoices of the sale the refund's order became, posted once its total is the
 * refund's to the cent. The refund's key goes into the credit note's `reference`, which is how a retry, or
 * a crash between "created in Tryton" and "recorded in the link store", finds it instead of crediting twice.
 *
 * Tryton's own "credit" (account.invoice.credit) credits whole invoices and is not callable over JSON-RPC
 * (only its wizard is), and shops refund amounts, so the credit note is built here the way Tryton builds
 * its own: the invoice's party, address, currency, journal, account and payment term, each line's origin
 * the invoice line it credits (so Tryton and its users see what it credits, and the sale does not count it
 * as invoicing less: a sale line origin would make Tryton invoice the quantity again). The amount is split
 * over the invoice's tax groups (core/refund.ts creditLines), lines of quantity −1 at the net amount.
 *
 * Refused, as failed records naming the field and the value: a refund above what the order's posted
 * invoices total minus what was already credited on them (credit notes whose lines credit those invoice
 * lines, made here or in Tryton), and a refund in another currency. Retryable: an order Tryton has no sale
 * for yet, and a sale with no posted invoice yet.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Refund } from "../../../core/model.ts";
import { planCredit, refundEchoReason } from "../../../core/refund.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import type { TrytonRow } from "../client.ts";
import { amount, bigOf, decimal } from "../codec.ts";
import { failure, nested, type TrytonContext } from "../context.ts";
import { id, ids, str } from "../fields.ts";

const POSTED = ["posted", "paid"];

/** An invoice line of the order's posted invoices, as the credit note needs it. */
export interface InvoicedLine {
  id: number;
  invoice: number;
  account: number;
  amount: string;
  taxes: number[];
}

/** What the writer found in Tryton for one refund's order. */
export interface CreditFacts {
  /** The order's posted customer invoices (positive totals), oldest first. */
  invoices: { id: number; total: string; currency: string }[];
  lines: InvoicedLine[];
  /** Tax id → rate (a fraction). */
  rates: Map<number, string>;
  /** Total already credited on those invoices by other credit notes (a positive amount). */
  credited: string;
}

export interface CreditLineValues {
  /** The invoice line credited (its account, taxes and origin are the credit line's). */
  line: InvoicedLine;
  net: string;
  taxed: boolean;
}

/**
 * What to credit for a refund, or why not (pure: the decisions of this writer, tested without Tryton):
 * core/refund.ts planCredit, with Tryton's half-to-even rounding of taxes.
 */
export function creditPlan(
  refund: Refund,
  facts: CreditFacts,
  system: string,
): { ok: true; lines: CreditLineValues[] } | { ok: false; error: SyncError } {
  const plan = planCredit(
    refund,
    { ...facts, rateOf: (t) => facts.rates.get(t) },
    { name: "Tryton", system, rounding: "half-even" },
  );
  if (!plan.ok) return plan;
  return {
    ok: true,
    lines: plan.lines.map((l) => ({ line: l.line, net: l.net, taxed: !l.rounding })),
  };
}

export function refundWriter(ctx: TrytonContext): Writer<"refund"> {
  const { client } = ctx;
  const system = ctx.name;

  const saleOf = async (refund: Refund, wctx: WriteContext): Promise<number | null> => {
    const linked = await wctx.resolve("order", refund.orderKey);
    if (linked && Number.isInteger(Number(linked))) return Number(linked);
    const [sale] = await client.searchRead("sale.sale", [["reference", "=", refund.orderKey]], ["id"], {
      limit: 1,
      signal: wctx.signal,
    });
    return sale ? sale.id : null;
  };

  const factsOf = async (
    saleId: number,
    own: number | null,
    wctx: WriteContext,
  ): Promise<{ facts: CreditFacts; header: TrytonRow | undefined }> => {
    const signal = wctx.signal;
    const [sale] = await client.read("sale.sale", [saleId], ["invoices"], { signal });
    const invoices = (
      await client.searchRead(
        "account.invoice",
        [
          ["id", "in", ids(sale, "invoices")],
          ["type", "=", "out"],
          ["state", "in", POSTED],
        ],
        [
          "total_amount",
          "currency.code",
          "company",
          "party",
          "invoice_address",
          "currency",
          "journal",
          "account",
          "payment_term",
        ],
        { signal },
      )
    ).filter((i) => (bigOf(i.total_amount) ?? new Big(0)).gt(0));
    const lineRows = await client.searchRead(
      "account.invoice.line",
      [
        ["invoice", "in", invoices.map((i) => i.id)],
        ["type", "=", "line"],
      ],
      ["invoice", "account", "amount", "taxes"],
      { signal },
    );
    const taxIds = [...new Set(lineRows.flatMap((l) => ids(l, "taxes")))];
    const taxes = await client.read("account.tax", taxIds, ["rate", "type"], { signal });
    const rates = new Map<number, string>();
    for (const t of taxes) {
      if (str(t, "type") !== "percentage") {
        throw new SyncError(
          "permanent",
          `Tryton tax ${t.id} on order's invoice is of type ${JSON.stringify(str(t, "type"))}; only percentage taxes can be credited by amount`,
          { system, field: "taxes" },
        );
      }
      rates.set(t.id, bigOf(t.rate)?.toFixed() ?? "0");
    }
    // Credit notes whose lines credit these invoice lines (this refund's own excepted).
    const origins = lineRows.map((l) => `account.invoice.line,${l.id}`);
    const creditLineRows =
      origins.length === 0
        ? []
        : await client.searchRead(
            "account.invoice.line",
            [
              ["origin", "in", origins],
              ["invoice.state", "!=", "cancelled"],
            ],
            ["invoice"],
            { signal },
          );
    const creditIds = [
      ...new Set(creditLineRows.map((l) => id(l, "invoice")).filter((x) => x !== undefined && x !== own)),
    ] as number[];
    const creditNotes = await client.read("account.invoice", creditIds, ["total_amount"], { signal });
    const credited = creditNotes.reduce((s, c) => s.minus(bigOf(c.total_amount) ?? new Big(0)), new Big(0));
    return {
      header: invoices[0],
      facts: {
        invoices: invoices.map((i) => ({
          id: i.id,
          total: (bigOf(i.total_amount) ?? new Big(0)).toFixed(),
          currency: String(nested(i, "currency", "code") ?? ""),
        })),
        lines: lineRows.flatMap((l) => {
          const account = id(l, "account");
          const invoice = id(l, "invoice");
          const value = bigOf(l.amount);
          return account !== undefined && invoice !== undefined && value
            ? [{ id: l.id, invoice, account, amount: value.toFixed(), taxes: ids(l, "taxes") }]
            : [];
        }),
        rates,
        credited: credited.toFixed(),
      },
    };
  };

  const writeOne = async (item: WriteItem<"refund">, wctx: WriteContext): Promise<WriteResult> => {
    const refund = item.record;
    const [existing] = await client.searchRead(
      "account.invoice",
      item.targetId !== null && Number.isInteger(Number(item.targetId))
        ? ["OR", ["id", "=", Number(item.targetId)], ["reference", "=", item.externalRef]]
        : [["reference", "=", item.externalRef]],
      ["state", "lines", "number"],
      { limit: 1, signal: wctx.signal },
    );
    // Posted, paid or cancelled in Tryton: the accountant's from now on, never written again.
    if (existing && str(existing, "state") !== "draft") {
      return { key: item.key, ok: true, targetId: String(existing.id), action: "unchanged" };
    }
    const saleId = await saleOf(refund, wctx);
    if (saleId === null) {
      throw new SyncError(
        "retryable",
        `refund ${refund.key}: order ${refund.orderKey} is not in Tryton yet (no sale with that reference); retried once the order is synced`,
        { system, field: "orderKey" },
      );
    }
    const { facts, header } = await factsOf(saleId, existing?.id ?? null, wctx);
    const plan = creditPlan(refund, facts, system);
    if (!plan.ok) return { key: item.key, ok: false, error: plan.error };
    const h = header as TrytonRow;
    const description = `Refund ${refund.key} of order ${refund.orderNumber}${refund.reason ? `: ${refund.reason}` : ""}`;
    const lines = plan.lines.map((l) => ({
      type: "line",
      invoice_type: "out",
      company: id(h, "company"),
      currency: id(h, "currency"),
      party: id(h, "party"),
      account: l.line.account,
      quantity: -1,
      unit_price: decimal(l.net),
      description: l.taxed ? description : `${description} (rounding)`,
      taxes: [["add", l.taxed ? l.line.taxes : []]],
      origin: `account.invoice.line,${l.line.id}`,
    }));
    let creditId: number;
    if (existing) {
      creditId = existing.id;
      await client.write(
        "account.invoice",
        [creditId],
        {
          lines: [
            ["delete", ids(existing, "lines")],
            ["create", lines],
          ],
        },
        `account.invoice.write for refund ${refund.key}`,
        wctx.signal,
      );
    } else {
      [creditId] = (await client.create(
        "account.invoice",
        [
          {
            type: "out",
            company: id(h, "company"),
            party: id(h, "party"),
            invoice_address: id(h, "invoice_address"),
            currency: id(h, "currency"),
            journal: id(h, "journal"),
            account: id(h, "account"),
            ...(id(h, "payment_term") !== undefined ? { payment_term: id(h, "payment_term") } : {}),
            reference: item.externalRef,
            description: description.slice(0, 250),
            lines: [["create", lines]],
          },
        ],
        `account.invoice.create (credit note) for refund ${refund.key}`,
        wctx.signal,
      )) as [number];
    }
    if (!existing) {
      // Tryton computes a draft invoice's taxes on write, not on create (update_taxes is not callable).
      await client.write(
        "account.invoice",
        [creditId],
        { description: description.slice(0, 250) },
        `account.invoice.write (taxes) for refund ${refund.key}`,
        wctx.signal,
      );
    }
    const [back] = await client.read("account.invoice", [creditId], ["total_amount"], {
      signal: wctx.signal,
    });
    const total = bigOf(back?.total_amount) ?? new Big(0);
    if (!total.eq(new Big(refund.amount).neg())) {
      return {
        key: item.key,
        ok: false,
        error: new SyncError(
          "data",
          `refund ${refund.key}: Tryton computes a credit note total of ${amount(back?.total_amount) ?? "?"} but the refund is ${refund.amount} ${refund.currency}; left as draft credit note ${creditId}`,
          { system, field: "amount" },
        ),
      };
    }
    await client.model("account.invoice", "post", [[creditId]], {
      what: `account.invoice.post for refund ${refund.key}`,
      signal: wctx.signal,
    });
    return { key: item.key, ok: true, targetId: String(creditId), action: existing ? "updated" : "created" };
  };

  return {
    entity: "refund",
    unsupported: (refund) => refundEchoReason(refund, system),
    // Look up the credit note and the sale; read invoices, lines, taxes, credits; create, taxes, read, post.
    estimateCalls: perRecord({ create: 10, update: 1, perBatch: 0 }),
    async findByExternalRef(ref) {
      const rows = await client.searchRead("account.invoice", [["reference", "=", ref]], ["id"], {
        limit: 1,
      });
      return rows[0] ? String(rows[0].id) : null;
    },
    async upsert(items, wctx) {
      const results: WriteResult[] = [];
      // One at a time: two refunds of one order must each see the other's credit note.
      for (const item of items) {
        try {
          results.push(await writeOne(item, wctx));
        } catch (err) {
          results.push({ key: item.key, ok: false, error: failure(err, system) });
        }
      }
      return results;
    },
  };
}

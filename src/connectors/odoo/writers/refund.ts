/**
 * Canonical Refund → an Odoo customer credit note: an account.move of move_type `out_refund`, on the posted
 * customer invoices of the sale the refund's order became, posted once Odoo's computed total is the
 * refund's to the cent. The refund's key goes into the credit note's `ref`, which is how a retry, or a crash
 * between "created in Odoo" and "recorded in the link store", finds it instead of crediting twice.
 *
 * Odoo's own "Credit Note" (the account.move.reversal wizard) reverses whole invoices, and shops refund
 * amounts, so the credit note is built here as a person would fill it in: the invoice's partner and
 * currency, `reversed_entry_id` the invoice it credits (Odoo and its users see what it credits, and the
 * already-credited sum below counts it), `invoice_origin` the sale's number, and lines without a sale line
 * (a credit note linked to sale lines would make Odoo count the quantities as to invoice again). The amount
 * is split over the invoice lines' taxes (core/refund.ts creditLines): one line per tax group at the net
 * amount with the group's taxes on top, each booked on the income account of the invoice line it credits.
 * A price-included tax of the invoice is credited with the sale tax of the same rate excluding it (the
 * line's unit price is the net); Odoo having no such tax is a failure naming the tax.
 *
 * Refused, as failed records naming the field and the value: a refund above what the order's posted
 * invoices total minus what posted credit notes of those invoices (reversed_entry_id, made here or in Odoo)
 * already credited, and a refund in another currency. Retryable: an order Odoo has no sale for yet, and a
 * sale with no posted invoice yet. A computed total a cent or more off the refund leaves the credit note as
 * a draft for a person, the record failed with both figures (as the order writer does with a sale).
 */
import Big from "big.js";
import { asSyncError, SyncError } from "../../../core/errors.ts";
import type { Refund } from "../../../core/model.ts";
import { planCredit, refundEchoReason } from "../../../core/refund.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { ids, many2one, num, str } from "../fields.ts";

/** An invoice line of the order's posted invoices, as the credit note needs it. */
export interface InvoicedLine {
  id: number;
  invoice: number;
  account: number | null;
  /** price_subtotal: the line's amount without taxes. */
  amount: string;
  taxes: number[];
}

/** A tax of those lines: its rate as a fraction, whether prices include it, its type. */
export interface InvoicedTax {
  rate: string;
  priceInclude: boolean;
  /** Odoo's amount_type: only "percent" can be credited by amount. */
  type: string;
  name: string;
}

/** What the writer found in Odoo for one refund's order. */
export interface CreditFacts {
  /** The sale's posted customer invoices (positive totals), oldest first. */
  invoices: { id: number; total: string; currency: string }[];
  lines: InvoicedLine[];
  taxes: Map<number, InvoicedTax>;
  /** Total already credited on those invoices by posted credit notes (this refund's own excepted). */
  credited: string;
}

export interface CreditLineValues {
  /** The invoice line credited (its account and invoice are the credit line's). */
  line: InvoicedLine;
  net: string;
  /** The tax ids as the invoice line has them; empty for a rounding line. */
  taxes: number[];
}

/**
 * What to credit for a refund, or why not (pure: the decisions of this writer, tested without Odoo):
 * core/refund.ts planCredit, with Odoo's half-up rounding of each line's taxes (its default "round per
 * line"), after refusing taxes that are not percentages (they cannot be credited by amount).
 */
export function creditPlan(
  refund: Refund,
  facts: CreditFacts,
  system: string,
): { ok: true; lines: CreditLineValues[] } | { ok: false; error: SyncError } {
  for (const line of facts.lines) {
    for (const t of line.taxes) {
      const tax = facts.taxes.get(t);
      if (tax && tax.type !== "percent") {
        return {
          ok: false,
          error: new SyncError(
            "permanent",
            `refund ${refund.key}: Odoo tax ${JSON.stringify(tax.name)} on order ${refund.orderKey}'s invoice is of type ${JSON.stringify(tax.type)}; only percentage taxes can be credited by amount`,
            { system, field: "taxes" },
          ),
        };
      }
    }
  }
  return planCredit(
    refund,
    { ...facts, rateOf: (t) => facts.taxes.get(t)?.rate },
    { name: "Odoo", system, rounding: "half-up" },
  );
}

/**
 * The tax ids a credit line carries for an invoice line's taxes: each price-included tax replaced by the
 * sale tax of the same rate that excludes it (the credit line's unit price is a net amount).
 */
export function excludedTaxes(
  taxIds: number[],
  taxes: Map<number, InvoicedTax>,
  saleTaxes: { id: number; percent: number; priceInclude: boolean }[],
): { ok: true; ids: number[] } | { ok: false; tax: InvoicedTax } {
  const out: number[] = [];
  for (const t of taxIds) {
    const tax = taxes.get(t);
    if (!tax?.priceInclude) {
      out.push(t);
      continue;
    }
    const percent = Number(new Big(tax.rate).times(100).toFixed());
    const twin = saleTaxes.find((s) => !s.priceInclude && Math.abs(s.percent - percent) < 1e-9);
    if (!twin) return { ok: false, tax };
    out.push(twin.id);
  }
  return { ok: true, ids: out };
}

export function refundWriter(ctx: OdooContext): Writer<"refund"> {
  const { client } = ctx;
  const system = ctx.name;

  const saleOf = async (refund: Refund, wctx: WriteContext): Promise<OdooRow | null> => {
    const linked = await wctx.resolve("order", refund.orderKey);
    const domain =
      linked && Number.isInteger(Number(linked))
        ? ["|", ["id", "=", Number(linked)], ["client_order_ref", "=", refund.orderKey]]
        : [["client_order_ref", "=", refund.orderKey]];
    const [sale] = await client.searchRead("sale.order", domain, ["name", "invoice_ids", "state"], {
      limit: 1,
      order: "id asc",
      signal: wctx.signal,
    });
    return sale ?? null;
  };

  const factsOf = async (
    sale: OdooRow,
    own: number | null,
    wctx: WriteContext,
  ): Promise<{ facts: CreditFacts; header: OdooRow | undefined }> => {
    const signal = wctx.signal;
    const invoiceIds = ids(sale, "invoice_ids");
    const invoices =
      invoiceIds.length === 0
        ? []
        : (
            await client.searchRead(
              "account.move",
              [
                ["id", "in", invoiceIds],
                ["move_type", "=", "out_invoice"],
                ["state", "=", "posted"],
              ],
              ["amount_total", "currency_id", "partner_id", "name"],
              { order: "id asc", signal },
            )
          ).filter((i) => num(i, "amount_total") > 0);
    const posted = invoices.map((i) => i.id);
    const lineRows =
      posted.length === 0
        ? []
        : await client.searchRead(
            "account.move.line",
            [
              ["move_id", "in", posted],
              ["display_type", "=", "product"],
            ],
            ["move_id", "account_id", "price_subtotal", "tax_ids"],
            { order: "id asc", signal },
          );
    const taxIds = [...new Set(lineRows.flatMap((l) => ids(l, "tax_ids")))];
    const taxRows = await client.read(
      "account.tax",
      taxIds,
      ["name", "amount", "amount_type", "price_include"],
      signal,
    );
    const taxes = new Map<number, InvoicedTax>(
      taxRows.map((t) => [
        t.id,
        {
          rate: new Big(num(t, "amount")).div(100).toFixed(),
          priceInclude: t.price_include === true,
          type: str(t, "amount_type") ?? "percent",
          name: str(t, "name") ?? `tax ${t.id}`,
        },
      ]),
    );
    const creditNotes =
      posted.length === 0
        ? []
        : await client.searchRead(
            "account.move",
            [
              ["move_type", "=", "out_refund"],
              ["reversed_entry_id", "in", posted],
              ["state", "=", "posted"],
            ],
            ["amount_total"],
            { signal },
          );
    const credited = creditNotes
      .filter((c) => c.id !== own)
      .reduce((s, c) => s.plus(num(c, "amount_total")), new Big(0));
    return {
      header: invoices[0],
      facts: {
        invoices: invoices.map((i) => ({
          id: i.id,
          total: new Big(num(i, "amount_total")).toFixed(),
          currency: many2one(i, "currency_id")?.name ?? "",
        })),
        lines: lineRows.flatMap((l) => {
          const invoice = many2one(l, "move_id")?.id;
          return invoice === undefined
            ? []
            : [
                {
                  id: l.id,
                  invoice,
                  account: many2one(l, "account_id")?.id ?? null,
                  amount: new Big(num(l, "price_subtotal")).toFixed(),
                  taxes: ids(l, "tax_ids"),
                },
              ];
        }),
        taxes,
        credited: credited.toFixed(),
      },
    };
  };

  /** Sale taxes excluding the price, read only when an invoice line has a price-included tax. */
  const saleTaxesExcluded = async (signal?: AbortSignal) =>
    (
      await client.searchRead(
        "account.tax",
        [
          ["type_tax_use", "=", "sale"],
          ["amount_type", "=", "percent"],
          ["price_include", "=", false],
        ],
        ["amount"],
        { order: "id asc", signal },
      )
    ).map((t) => ({ id: t.id, percent: num(t, "amount"), priceInclude: false }));

  const writeOne = async (item: WriteItem<"refund">, wctx: WriteContext): Promise<WriteResult> => {
    const refund = item.record;
    const target =
      item.targetId !== null && Number.isInteger(Number(item.targetId)) ? Number(item.targetId) : null;
    const [existing] = await client.searchRead(
      "account.move",
      target !== null
        ? [["move_type", "=", "out_refund"], "|", ["id", "=", target], ["ref", "=", item.externalRef]]
        : [
            ["move_type", "=", "out_refund"],
            ["ref", "=", item.externalRef],
          ],
      ["state", "invoice_line_ids", "name"],
      { limit: 1, order: "id asc", signal: wctx.signal },
    );
    // Posted or cancelled in Odoo: the accountant's from now on, never written again.
    if (existing && str(existing, "state") !== "draft") {
      return { key: item.key, ok: true, targetId: String(existing.id), action: "unchanged" };
    }
    const sale = await saleOf(refund, wctx);
    if (sale === null) {
      throw new SyncError(
        "retryable",
        `refund ${refund.key}: order ${refund.orderKey} is not in Odoo yet (no sale with that client reference); retried once the order is synced`,
        { system, field: "orderKey" },
      );
    }
    const { facts, header } = await factsOf(sale, existing?.id ?? null, wctx);
    const plan = creditPlan(refund, facts, system);
    if (!plan.ok) return { key: item.key, ok: false, error: plan.error };
    const h = header as OdooRow;
    const needsTwin = plan.lines.some((l) => l.taxes.some((t) => facts.taxes.get(t)?.priceInclude));
    const saleTaxes = needsTwin ? await saleTaxesExcluded(wctx.signal) : [];
    const description = `Refund ${refund.key} of order ${refund.orderNumber}${refund.reason ? `: ${refund.reason}` : ""}`;
    const lines: Record<string, unknown>[] = [];
    for (const l of plan.lines) {
      const taxes = excludedTaxes(l.taxes, facts.taxes, saleTaxes);
      if (!taxes.ok) {
        throw new SyncError(
          "permanent",
          `refund ${refund.key}: order ${refund.orderKey}'s invoice has the tax ${JSON.stringify(taxes.tax.name)} included in its prices, and Odoo has no sale tax of ${new Big(taxes.tax.rate).times(100).toFixed()}% excluded from the price to credit it net`,
          { system, field: "taxes" },
        );
      }
      lines.push({
        name: l.taxes.length > 0 || l.line.taxes.length === 0 ? description : `${description} (rounding)`,
        quantity: 1,
        price_unit: Number(l.net),
        tax_ids: [[6, 0, taxes.ids]],
        ...(l.line.account !== null ? { account_id: l.line.account } : {}),
      });
    }
    let creditId: number;
    if (existing) {
      creditId = existing.id;
      await client.execute(
        "account.move",
        "write",
        [
          [creditId],
          {
            invoice_line_ids: [
              ...ids(existing, "invoice_line_ids").map((x) => [2, x]),
              ...lines.map((v) => [0, 0, v]),
            ],
          },
        ],
        {},
        wctx.signal,
      );
    } else {
      const created = await client.execute(
        "account.move",
        "create",
        [
          {
            move_type: "out_refund",
            partner_id: many2one(h, "partner_id")?.id,
            currency_id: many2one(h, "currency_id")?.id,
            ref: item.externalRef,
            reversed_entry_id: plan.lines[0]?.line.invoice ?? h.id,
            invoice_origin: str(sale, "name") ?? refund.orderNumber,
            narration: description,
            invoice_line_ids: lines.map((v) => [0, 0, v]),
          },
        ],
        {},
        wctx.signal,
      );
      if (typeof created !== "number") {
        throw new SyncError(
          "permanent",
          `Odoo's account.move.create (credit note) for refund ${refund.key} returned no id`,
          {
            system,
          },
        );
      }
      creditId = created;
    }
    const [back] = await client.read("account.move", [creditId], ["amount_total", "name"], wctx.signal);
    const computed = new Big(back ? num(back, "amount_total") : 0);
    if (computed.minus(refund.amount).abs().gte("0.01")) {
      return {
        key: item.key,
        ok: false,
        error: new SyncError(
          "data",
          `refund ${refund.key}: Odoo computes a credit note total of ${computed.toFixed(2)} ${refund.currency} but the refund is ${refund.amount} ${refund.currency}; left as draft credit note ${creditId}`,
          { system, field: "amount" },
        ),
      };
    }
    await client.execute("account.move", "action_post", [[creditId]], {}, wctx.signal);
    return { key: item.key, ok: true, targetId: String(creditId), action: existing ? "updated" : "created" };
  };

  return {
    entity: "refund",
    unsupported: (refund) => refundEchoReason(refund, system),
    // Look up the credit note and the sale; read invoices, lines, taxes, credits; create, read, post.
    estimateCalls: perRecord({ create: 9, update: 1, perBatch: 0 }),
    async findByExternalRef(ref) {
      const rows = await client.searchRead(
        "account.move",
        [
          ["move_type", "=", "out_refund"],
          ["ref", "=", ref],
        ],
        ["id"],
        { limit: 1, order: "id asc" },
      );
      return rows[0] ? String(rows[0].id) : null;
    },
    async upsert(items, wctx) {
      const results: WriteResult[] = [];
      // One at a time: two refunds of one order must each see the other's credit note.
      for (const item of items) {
        try {
          results.push(await writeOne(item, wctx));
        } catch (err) {
          results.push({ key: item.key, ok: false, error: asSyncError(err, system) });
        }
      }
      return results;
    },
  };
}

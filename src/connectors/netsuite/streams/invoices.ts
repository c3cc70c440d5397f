/**
 * Customer invoices (SuiteQL `transaction` rows of type 'CustInvc') billing sales orders this connector wrote:
 * the invoice's main line names the sales order (`transactionline.createdfrom`), whose `otherrefnum` holds the
 * shop order's key. Total = `foreigntotal` (the transaction's currency), currency = `currency.symbol`, customer
 * = the customer's e-mail (the canonical customer key). Tax = the magnitude of the summed `foreignamount` of the
 * invoice's tax lines (`taxline = 'T'`): which sign NetSuite stores there, and whether SuiteTax accounts have
 * such lines at all, no source confirms. Invoices not made from such an order are left out. No PDF: NetSuite
 * renders transactions only through SuiteScript (`N/render` in a RESTlet), not through REST.
 * Sources per column: packages/emulators/src/netsuite/suiteql-tables.ts.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Invoice } from "../../../core/model.ts";
import { minorUnits, round } from "../../../core/money.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { NsRow } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";
import { dateOf, internalId, linesOf, oneOfType, orderKeysOf, rowsWhereIn } from "./links.ts";
import { changedSince, idOf, updatedAtOf } from "./query.ts";

export const INVOICE_COLS = [
  "id",
  "tranid",
  "trandate",
  "entity",
  "currency",
  "foreigntotal",
  "lastmodifieddate",
] as const;

/** An invoice row completed with the order key, currency code, customer e-mail and tax. */
export interface InvoiceRow extends NsRow {
  orderKey?: string;
  currencyCode?: string;
  customerEmail?: string;
  /** The magnitude of the summed tax lines, a decimal string (big.js, never a JS number sum). */
  tax: string;
  /** A tax line's foreignamount that is not an amount: the invoice is then a failed record. */
  badTax?: unknown;
}

async function complete(ctx: NetSuiteContext, rows: NsRow[], signal?: AbortSignal): Promise<InvoiceRow[]> {
  if (rows.length === 0) return [];
  const lines = await linesOf(ctx, rows.map(idOf), signal);
  const orders = await orderKeysOf(
    ctx,
    [...lines.values()].flatMap((l) => (l.createdFrom ? [l.createdFrom] : [])),
    signal,
  );
  const currencies = new Map(
    (
      await rowsWhereIn(
        ctx,
        rows.flatMap((r) => internalId(r.currency) ?? []),
        (list) => `SELECT id, symbol FROM currency WHERE id IN (${list})`,
        signal,
      )
    ).map((c) => [String(c.id), String(c.symbol ?? "").toUpperCase()] as const),
  );
  const emails = new Map(
    (
      await rowsWhereIn(
        ctx,
        rows.flatMap((r) => internalId(r.entity) ?? []),
        (list) => `SELECT id, email FROM customer WHERE id IN (${list})`,
        signal,
      )
    ).map(
      (c) =>
        [
          String(c.id),
          String(c.email ?? "")
            .trim()
            .toLowerCase(),
        ] as const,
    ),
  );
  return rows.map((row) => {
    const l = lines.get(idOf(row));
    const orderKey = l?.createdFrom ? orders.get(l.createdFrom) : undefined;
    const currencyCode = currencies.get(internalId(row.currency) ?? "");
    const customerEmail = emails.get(internalId(row.entity) ?? "");
    return {
      ...row,
      ...(orderKey ? { orderKey } : {}),
      ...(currencyCode ? { currencyCode } : {}),
      ...(customerEmail ? { customerEmail } : {}),
      tax: new Big(l?.tax ?? "0").abs().toFixed(),
      ...(l && "badTax" in l ? { badTax: l.badTax } : {}),
    };
  });
}

export function invoiceStream(ctx: NetSuiteContext): Stream<"invoice", InvoiceRow> {
  return {
    entity: "invoice",
    sorted: true,
    async *list(req) {
      for await (const page of changedSince(ctx, "transaction", INVOICE_COLS, req, ["type = 'CustInvc'"])) {
        yield (await complete(ctx, page, req.signal)).filter((r) => r.orderKey);
      }
    },
    async get(id) {
      const row = await oneOfType(ctx, "CustInvc", INVOICE_COLS, id);
      return row ? ((await complete(ctx, [row]))[0] ?? null) : null;
    },
    idOf,
    updatedAtOf,
    toCanonical(row): Invoice {
      const number = String(row.tranid ?? row.id);
      const currency = row.currencyCode;
      if (!currency || !/^[A-Z]{3}$/.test(currency)) {
        throw new SyncError(
          "data",
          `invoice ${number}: currency ${JSON.stringify(row.currency)} has no ISO symbol (${JSON.stringify(currency ?? null)})`,
          { system: ctx.name, field: "currency" },
        );
      }
      const total = Number(row.foreigntotal);
      if (row.foreigntotal === null || row.foreigntotal === undefined || !Number.isFinite(total)) {
        throw new SyncError(
          "data",
          `invoice ${number}: foreigntotal ${JSON.stringify(row.foreigntotal)} is not an amount`,
          {
            system: ctx.name,
            field: "foreigntotal",
          },
        );
      }
      if ("badTax" in row) {
        throw new SyncError(
          "data",
          `invoice ${number}: a tax line's foreignamount ${JSON.stringify(row.badTax)} is not an amount`,
          { system: ctx.name, field: "foreignamount" },
        );
      }
      const digits = minorUnits(currency);
      return {
        source: ctx.name,
        sourceId: idOf(row),
        updatedAt: updatedAtOf(row),
        key: `${ctx.name}:${number}`,
        number,
        kind: "invoice",
        ...(row.orderKey ? { orderKey: row.orderKey } : {}),
        ...(row.customerEmail ? { customerKey: row.customerEmail } : {}),
        currency,
        totalTax: round(row.tax, currency),
        total: new Big(total).toFixed(digits),
        issuedAt: dateOf(ctx, row.trandate, `invoice ${number}`),
      };
    },
  };
}

/**
 * Prices: sales pricing condition records of API_SLSPRICINGCONDITIONRECORD_SRV valid today, of the connection's
 * sales price condition type (`salesPriceCondition`, PPR0 by default) in its sales area (sales organization
 * and distribution channel). A record is found through its validity (A_SlsPrcgCndnRecdValidity: the period
 * and the key fields the price applies to — Material, CustomerGroup, PriceListType, Customer) and its rate is
 * read from the record itself (to_SlsPrcgConditionRecord: ConditionRateValue per ConditionQuantity of
 * ConditionQuantityUnit, in ConditionRateValueUnit), in one call with `$expand`.
 *
 * Price lists: a record for a customer group (CustomerGroup) is that group's list, "Customer group 01 EUR",
 * serving the shop group `priceCustomerGroups` names (else `customer-group-01`); a record for a price list
 * type (PriceListType) is "Price list type 02 EUR" (serving `price-list-type-02`); a record for neither is the
 * base price, "Base price EUR", serving `basePriceCustomerGroup`. Records for one customer (Customer) are not
 * read: no price list is one customer's. A price is the rate per one unit (the rate divided by the condition
 * quantity), rounded to the currency's minor unit (half away from zero, money.ts).
 *
 * Failed records, naming the field and the value, for what the canonical price cannot say: a rate that is not
 * a price by quantity (ConditionCalculationType other than C: a percentage or a fixed amount), a rate unit
 * that is no ISO currency (ConditionRateValueUnit `%`), a price per another unit than `priceUnit`
 * (ConditionQuantityUnit), a condition quantity that is not a positive number, a negative or unreadable rate.
 * Records marked deleted (ConditionIsDeleted) are no prices and are left out.
 *
 * Quantity breaks: a record's scale (A_SlsPrcgCndnRecordScale, read in the same call through
 * to_SlsPrcgConditionRecord/to_SlsPrcgCndnRecordScale, its key ConditionRecord, ConditionSequentialNumber,
 * ConditionScaleLine per the VDM package's CSN) becomes the price's tiers when it is a quantity scale
 * (PricingScaleBasis C: SAP's scale base type, "SAP table CONDSCALE", datapanda.eu) of the from type
 * (PricingScaleType A, the "base scale": a line's rate holds from its quantity on; SAP data element STFKZ,
 * sapdatasheet.org). Each line's ConditionScaleQuantity, in ConditionScaleQuantityUnit, is where its rate
 * (ConditionRateValue, per the record's ConditionQuantity, like the record's own rate) starts; the line that
 * holds at one unit is the base price, each line from two units on a tier break at its quantity, priced and
 * rounded as the base price is. The record's own rate shows the scale's first line (SAP Cloud SDK reference,
 * SlsPrcgCndnRecordScale: "the condition amount or percentage displays the first line of the scale"); the
 * line is read, not the copy. Failed records, naming the field and the value, for a scale a tier break
 * cannot say: a scale by value, weight, volume or anything but quantity; a to-scale or an interval scale
 * (the price of a quantity is not "this rate from here on"); a scale quantity in another unit than
 * `priceUnit`, fractional, repeated, or starting above one unit (below it the record prices nothing, so no
 * base price); a line's rate in another currency or unreadable. A record with no scale basis and no line
 * above one unit has no breaks: its rate is the price, as before.
 *
 * The records carry no change stamp (only CreationDate; a changed rate keeps it): the stream is a snapshot,
 * read in ConditionRecord order, stamped with the time the read began; a validity starting or ending moves
 * a price in or out of the next read. "Today" is the UTC day the read began.
 */
import Big from "big.js";
import { SyncError } from "../../../core/errors.ts";
import type { Price } from "../../../core/model.ts";
import { round } from "../../../core/money.ts";
import type { Stream } from "../../../ports/connector.ts";
import { priceListGroup } from "../../price-lists.ts";
import type { S4Row } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { decimal, fromV2Date, literal } from "../odata.ts";

const PR = "API_SLSPRICINGCONDITIONRECORD_SRV" as const;
const SET = "A_SlsPrcgCndnRecdValidity";
const REC = "to_SlsPrcgConditionRecord";
const SCALE = "to_SlsPrcgCndnRecordScale";
/** The open end of a validity (31 December 9999): no end. */
const OPEN_END = "9999-12-31";

export const PRICE_SELECT = [
  "ConditionRecord",
  "ConditionValidityStartDate",
  "ConditionValidityEndDate",
  "ConditionType",
  "SalesOrganization",
  "DistributionChannel",
  "CustomerGroup",
  "PriceListType",
  "Customer",
  "Material",
  `${REC}/ConditionRecord`,
  `${REC}/ConditionCalculationType`,
  `${REC}/ConditionRateValue`,
  `${REC}/ConditionRateValueUnit`,
  `${REC}/ConditionQuantity`,
  `${REC}/ConditionQuantityUnit`,
  `${REC}/ConditionIsDeleted`,
  `${REC}/ConditionSequentialNumber`,
  `${REC}/PricingScaleType`,
  `${REC}/PricingScaleBasis`,
  `${REC}/${SCALE}/ConditionSequentialNumber`,
  `${REC}/${SCALE}/ConditionScaleLine`,
  `${REC}/${SCALE}/ConditionScaleQuantity`,
  `${REC}/${SCALE}/ConditionScaleQuantityUnit`,
  `${REC}/${SCALE}/ConditionRateValue`,
  `${REC}/${SCALE}/ConditionRateValueUnit`,
] as const;
/** The record and, inside it, its scale: one call, no request per record. */
export const PRICE_EXPAND = [REC, `${REC}/${SCALE}`] as const;

/** A validity with its condition record, as read at `at`. */
export type PriceRow = S4Row & { at: string };

/** The `$filter` of the connection's sales prices valid on `day` (ISO), for no single customer. */
export function priceFilter(ctx: S4HanaContext, day: string, extra: string[] = []): string {
  const d = `datetime'${day}T00:00:00'`;
  return [
    `ConditionType eq ${literal(ctx.config.salesPriceCondition)}`,
    `SalesOrganization eq ${literal(ctx.config.salesOrganization)}`,
    `DistributionChannel eq ${literal(ctx.config.distributionChannel)}`,
    "Customer eq ''",
    `ConditionValidityStartDate le ${d}`,
    `ConditionValidityEndDate ge ${d}`,
    ...extra,
  ].join(" and ");
}

const recordOf = (row: S4Row): S4Row | null => {
  const r = row[REC];
  return r && typeof r === "object" && !Array.isArray(r) ? (r as S4Row) : null;
};

export function priceOf(ctx: S4HanaContext, row: PriceRow): Price {
  const id = String(row.ConditionRecord);
  const fail = (field: string, value: unknown, why: string): never => {
    throw new SyncError("data", `condition record ${id}: ${field} ${JSON.stringify(value ?? null)} ${why}`, {
      system: ctx.name,
      field,
    });
  };
  const sku = typeof row.Material === "string" ? row.Material : "";
  if (sku === "") fail("Material", row.Material, "names no material: the price is for no product");
  const rec = recordOf(row);
  if (!rec) return fail(REC, row[REC], "holds no condition record to read the rate from");
  if (rec.ConditionCalculationType !== "C")
    fail(
      "ConditionCalculationType",
      rec.ConditionCalculationType,
      "is not a price by quantity (C): a percentage or fixed amount is no unit price",
    );
  const currency = rec.ConditionRateValueUnit;
  if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency))
    return fail("ConditionRateValueUnit", currency, "is not an ISO 4217 currency");
  if (rec.ConditionQuantityUnit !== ctx.config.priceUnit)
    fail(
      "ConditionQuantityUnit",
      rec.ConditionQuantityUnit,
      `is not the unit prices are for (priceUnit ${ctx.config.priceUnit})`,
    );
  const per = decimal(rec.ConditionQuantity);
  if (per === null || !new Big(per).gt(0))
    return fail("ConditionQuantity", rec.ConditionQuantity, "is not a positive quantity");
  const rate = decimal(rec.ConditionRateValue);
  if (rate === null || new Big(rate).lt(0))
    return fail("ConditionRateValue", rec.ConditionRateValue, "is not a price (a non-negative decimal)");
  const { base, tiers } = scaleOf(ctx, id, rec, currency, per, rate);
  const cg = typeof row.CustomerGroup === "string" ? row.CustomerGroup : "";
  const plt = typeof row.PriceListType === "string" ? row.PriceListType : "";
  const name =
    cg !== ""
      ? `Customer group ${cg} ${currency}`
      : plt !== ""
        ? `Price list type ${plt} ${currency}`
        : `Base price ${currency}`;
  const slug = priceListGroup(name, `s4-${id}`);
  const customerGroup =
    cg !== ""
      ? (ctx.config.priceCustomerGroups[cg] ?? slug.group)
      : plt !== ""
        ? slug.group
        : ctx.config.basePriceCustomerGroup;
  const validFrom = fromV2Date(row.ConditionValidityStartDate)?.slice(0, 10);
  const validTo = fromV2Date(row.ConditionValidityEndDate)?.slice(0, 10);
  return {
    source: ctx.name,
    sourceId: id,
    updatedAt: row.at,
    key: `${slug.code}:${sku}`,
    priceList: { code: slug.code, name, customerGroup, currency },
    sku,
    price: base,
    tiers,
    ...(validFrom ? { validFrom } : {}),
    ...(validTo && validTo !== OPEN_END ? { validTo } : {}),
  };
}

/** The lines of a record's scale, as read (OData V2 answers an expanded to-many as `{results: [...]}`). */
const linesOf = (rec: S4Row): S4Row[] => {
  const held = rec[SCALE] as { results?: unknown } | S4Row[] | null | undefined;
  const list = Array.isArray(held) ? held : Array.isArray(held?.results) ? held.results : [];
  return list.filter((l): l is S4Row => !!l && typeof l === "object" && !Array.isArray(l));
};

/**
 * The base price and the tier breaks of a record: its rate without breaks when it has no scale, else its
 * quantity scale's lines (see the header for what fails).
 */
function scaleOf(
  ctx: S4HanaContext,
  id: string,
  rec: S4Row,
  currency: string,
  per: string,
  rate: string,
): { base: string; tiers: { minQuantity: number; price: string }[] } {
  const unitPrice = (r: string) => round(new Big(r).div(per).toFixed(), currency);
  const fail = (field: string, value: unknown, why: string, line?: unknown): never => {
    const at = line === undefined ? "" : ` scale line ${JSON.stringify(line ?? null)}:`;
    throw new SyncError(
      "data",
      `condition record ${id}:${at} ${field} ${JSON.stringify(value ?? null)} ${why}`,
      {
        system: ctx.name,
        field,
      },
    );
  };
  // Lines of a supplement condition (another sequential number) are that condition's, not this price's.
  const seq = rec.ConditionSequentialNumber;
  const lines = linesOf(rec).filter(
    (l) =>
      typeof seq !== "string" ||
      seq === "" ||
      l.ConditionSequentialNumber === undefined ||
      l.ConditionSequentialNumber === seq,
  );
  const read = lines.map((l) => {
    const q = decimal(l.ConditionScaleQuantity);
    return { line: l.ConditionScaleLine, row: l, quantity: q === null ? null : new Big(q) };
  });
  const basis = rec.PricingScaleBasis ?? "";
  if (read.length === 0 || (basis === "" && read.every((l) => l.quantity?.lte(1))))
    return { base: unitPrice(rate), tiers: [] };
  if (basis !== "C")
    fail(
      "PricingScaleBasis",
      basis,
      "is not a quantity scale (C): a scale by value, weight or volume is no quantity break",
    );
  if (rec.PricingScaleType !== "A")
    fail(
      "PricingScaleType",
      rec.PricingScaleType,
      "is not a from-scale (A): a to-scale or interval scale does not price a quantity from a break on",
    );
  const steps = read.map(({ line, row, quantity }) => {
    if (row.ConditionScaleQuantityUnit !== ctx.config.priceUnit)
      fail(
        "ConditionScaleQuantityUnit",
        row.ConditionScaleQuantityUnit,
        `is not the unit prices are for (priceUnit ${ctx.config.priceUnit})`,
        line,
      );
    if (quantity === null || quantity.lt(0))
      return fail("ConditionScaleQuantity", row.ConditionScaleQuantity, "is not a quantity", line);
    if (!quantity.mod(1).eq(0))
      fail("ConditionScaleQuantity", row.ConditionScaleQuantity, "is not a whole number of units", line);
    if (row.ConditionRateValueUnit !== currency)
      fail(
        "ConditionRateValueUnit",
        row.ConditionRateValueUnit,
        `is not the record's currency ${currency}`,
        line,
      );
    const r = decimal(row.ConditionRateValue);
    if (r === null || new Big(r).lt(0))
      return fail(
        "ConditionRateValue",
        row.ConditionRateValue,
        "is not a price (a non-negative decimal)",
        line,
      );
    return { line, quantity, price: unitPrice(r), raw: row.ConditionScaleQuantity };
  });
  steps.sort((a, b) => a.quantity.cmp(b.quantity));
  steps.forEach((s, i) => {
    if (i > 0 && s.quantity.eq((steps[i - 1] as (typeof steps)[number]).quantity))
      fail("ConditionScaleQuantity", s.raw, "is the quantity of two lines", s.line);
  });
  // From-scale: a line holds from its quantity up to the next line's. The one holding at one unit is the
  // base price: the last line at or below one (a line at 0 and another at 1 both start below two units,
  // and the one at 1 is what one unit costs).
  const below = steps.filter((s) => s.quantity.lte(1));
  const base = below[below.length - 1];
  if (!base) {
    const first = steps[0] as (typeof steps)[number];
    return fail(
      "ConditionScaleQuantity",
      first.raw,
      "starts the scale above one unit: below it the record gives no price, so there is no base price",
      first.line,
    );
  }
  return {
    base: base.price,
    tiers: steps
      .filter((s) => s.quantity.gte(2))
      .map((s) => ({ minQuantity: s.quantity.toNumber(), price: s.price })),
  };
}

export function priceStream(ctx: S4HanaContext): Stream<"price", PriceRow> {
  const live = (rows: S4Row[], at: string): PriceRow[] =>
    rows.filter((r) => recordOf(r)?.ConditionIsDeleted !== true).map((r) => ({ ...r, at }));
  return {
    entity: "price",
    // A snapshot: no change stamp to order by or resume from.
    sorted: false,
    async *list(req) {
      const at = new Date().toISOString();
      for await (const page of ctx.client.list(PR, SET, {
        filter: priceFilter(ctx, at.slice(0, 10)),
        orderby: "ConditionRecord asc",
        select: PRICE_SELECT,
        expand: PRICE_EXPAND,
        pageSize: Math.max(1, Math.min(req.pageSize, ctx.config.pageSize)),
        ...(req.signal ? { signal: req.signal } : {}),
      })) {
        const rows = live(page, at);
        if (rows.length > 0) yield rows;
      }
    },
    async get(id) {
      if (!/^[0-9A-Za-z]{1,10}$/.test(id)) return null;
      const at = new Date().toISOString();
      for await (const page of ctx.client.list(PR, SET, {
        filter: priceFilter(ctx, at.slice(0, 10), [`ConditionRecord eq ${literal(id)}`]),
        select: PRICE_SELECT,
        expand: PRICE_EXPAND,
        pageSize: 2,
      }))
        return live(page, at)[0] ?? null;
      return null;
    },
    idOf: (r) => String(r.ConditionRecord),
    updatedAtOf: (r) => r.at,
    toCanonical: (r) => priceOf(ctx, r),
  };
}

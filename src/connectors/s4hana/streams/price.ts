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
 * Records marked deleted (ConditionIsDeleted) are no prices and are left out. Scales
 * (A_SlsPrcgCndnRecordScale) are not read: a scaled record's price is its base rate, without tiers.
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
] as const;

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
    price: round(new Big(rate).div(per).toFixed(), currency),
    tiers: [],
    ...(validFrom ? { validFrom } : {}),
    ...(validTo && validTo !== OPEN_END ? { validTo } : {}),
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
        expand: [REC],
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
        expand: [REC],
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

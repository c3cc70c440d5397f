/**
 * Stock and sales prices in the emulated S/4HANA: material stock (API_MATERIAL_STOCK_SRV: A_MaterialStock, one
 * per material, and A_MatlStkInAcctMod, one quantity per material, plant, storage location, batch, special
 * stock and stock type) and sales pricing condition records (API_SLSPRICINGCONDITIONRECORD_SRV:
 * A_SlsPrcgConditionRecord, the rate, and A_SlsPrcgCndnRecdValidity, its validity period with the key fields
 * the record is found by), kept as OData V2 JSON with the property names of SAP's VDM packages (vdm.ts). Both
 * services are read only here: tests and the demo put stock and prices in as a warehouse and a pricing
 * clerk would.
 *
 * Rules modelled: stock is kept per the entity's full key; a quantity exists only for a material the system
 * has; fields a stock line or a condition record does not use hold '' (as the services answer them), never
 * null; the quantity is in the material's base unit (MatlWrhsStkQtyInMatlBaseUnit, Edm.Decimal). The server
 * numbers condition records (ConditionRecord, ten digits from 0000000001); a record has one validity per
 * period (keyed by its end date, Edm.DateTime), the validity repeats the record's condition type and
 * application (V: sales), and each points to the other through to_SlsPrcgConditionRecord /
 * to_SlsPrcgCndnRecdValidity. A rate is per ConditionQuantity of ConditionQuantityUnit, in
 * ConditionRateValueUnit (a currency, or % for a percentage).
 *
 * Scales (A_SlsPrcgCndnRecordScale, keyed by ConditionRecord, ConditionSequentialNumber and ConditionScaleLine,
 * reached from the record through to_SlsPrcgCndnRecordScale and pointing back through to_SlsPrcgConditionRecord,
 * per the VDM package's CSN): a record may carry a scale instead of one rate, as VK11's scale screen enters it.
 * The record says what the scale is measured in (PricingScaleBasis, SAP's scale base type KZBZG: C quantity,
 * B value, D gross weight, E net weight, F volume, …; "SAP table CONDSCALE", datapanda.eu, and the domain
 * BBPKZBZG on sapdatasheet.org) and how a line applies (PricingScaleType: A from its quantity or value on,
 * "base scale"; B up to it, "to-scale"; C and D the condition type's interval scales — SAP's data element
 * STFKZ documents the from / to meaning; the letters are SAP's domain values as commonly listed, not
 * confirmed in a document read here). Each line holds its threshold — ConditionScaleQuantity in
 * ConditionScaleQuantityUnit for a quantity, weight or volume scale, ConditionScaleAmount in
 * ConditionScaleAmountCurrency for a value scale ("Scale value") — and its rate, ConditionRateValue in the
 * record's ConditionRateValueUnit. The record's own rate shows the first line ("If the condition includes a
 * pricing scale, the condition amount or percentage displays the first line of the scale": SAP Cloud SDK
 * reference, sales pricing condition record service, SlsPrcgCndnRecordScale). The emulator refuses, as the
 * maintenance screen does, a scale without lines, thresholds not strictly ascending, a threshold or rate
 * that is not a non-negative decimal of the property's scale (3 places), and a record rate other than the
 * first line's. A record without a scale has no scale lines (whether a real system answers one line for it
 * is not confirmed here).
 *
 * The seed, per product of the product seed: unrestricted-use stock (type 01) in plant 1010, storage location
 * 101A; every third product some stock in quality inspection (02) there too; every fourth a second storage
 * location 101B with a fractional quantity; and a base price (condition type PPR0, sales organization 1010,
 * distribution channel 10) at the product's list price, with every second product also priced for customer
 * group 01 at 10 % less.
 */
import Big from "big.js";
import { navOf, type Row, type S4Data, S4Error, v2Date } from "./data.ts";

const DAY = 86_400_000;
/** The end of an open validity, as SAP writes it (31 December 9999). */
export const OPEN_END = "9999-12-31";
const dayMs = (iso: string) => {
  const ms = Date.parse(`${iso}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new S4Error(400, "VK/001", `${JSON.stringify(iso)} is not a date`);
  return ms;
};

/** A stock quantity's place: the key fields of A_MatlStkInAcctMod a caller gives (the rest default to ''). */
export interface StockPlace {
  Material: string;
  Plant?: string;
  StorageLocation?: string;
  Batch?: string;
  InventorySpecialStockType?: string;
  /** 01 unrestricted use, 02 quality inspection, 07 blocked, … */
  InventoryStockType?: string;
}

/** A condition record as a pricing clerk enters it. */
export interface ConditionInput {
  Material: string;
  ConditionType?: string;
  SalesOrganization?: string;
  DistributionChannel?: string;
  CustomerGroup?: string;
  PriceListType?: string;
  Customer?: string;
  /** The rate, a decimal string; with a scale, its first line's rate (given or not). */
  ConditionRateValue?: string;
  /** A currency, or % for a percentage. */
  ConditionRateValueUnit?: string;
  ConditionQuantity?: string;
  ConditionQuantityUnit?: string;
  /** C: by quantity (a price), A: percentage, B: fixed amount. */
  ConditionCalculationType?: string;
  /** Days, ISO (`2026-01-01`); the start defaults to the system's today, the end to 9999-12-31. */
  validFrom?: string;
  validTo?: string;
  ConditionIsDeleted?: boolean;
  /** A scale in place of the single rate. */
  scale?: ScaleInput;
}

/** A condition record's scale, as a pricing clerk enters it on VK11's scale screen. */
export interface ScaleInput {
  /** PricingScaleBasis: C quantity (the default), B value, D gross weight, E net weight, F volume, … */
  basis?: string;
  /** PricingScaleType: A from the threshold on (the default), B up to it, C / D interval scales. */
  type?: string;
  /** The unit of the thresholds of a scale by quantity (weight, volume…); defaults to ConditionQuantityUnit. */
  unit?: string;
  /** The lines, in ascending order: the threshold (a decimal string: a quantity, or an amount in a value scale) and the rate. */
  lines: { from: string; rate: string }[];
}

/** SAP's scale base types (KZBZG). */
const SCALE_BASES = new Set(["B", "C", "D", "E", "F", "G", "L", "M", "N", "O", "P", "R", "S", "T", "X"]);
/** Scale types a record can carry: base (from) scale, to-scale, and the two interval scales. */
const SCALE_TYPES = new Set(["A", "B", "C", "D"]);
/** A non-negative Edm.Decimal of scale 3 with at most `digits` digits before the point. */
const decimal3 = (digits: number) => new RegExp(`^\\d{1,${digits}}(\\.\\d{1,3})?$`);

const STOCK_KEY = [
  "Material",
  "Plant",
  "StorageLocation",
  "Batch",
  "Supplier",
  "Customer",
  "WBSElementInternalID",
  "SDDocument",
  "SDDocumentItem",
  "InventorySpecialStockType",
  "InventoryStockType",
] as const;

const RATE = /^-?\d{1,9}(\.\d{1,3})?$/;

/** A scale as entered, checked as the maintenance screen checks it; thresholds and rates written to scale 3. */
function scaleOf(
  s: ScaleInput,
  quantityUnit: string,
  currency: string,
): { basis: string; type: string; byValue: boolean; unit: string; lines: { from: string; rate: string }[] } {
  const basis = s.basis ?? "C";
  const type = s.type ?? "A";
  if (!SCALE_BASES.has(basis))
    throw new S4Error(400, "VK/010", `PricingScaleBasis ${JSON.stringify(basis)} is no scale base type`);
  if (!SCALE_TYPES.has(type))
    throw new S4Error(400, "VK/011", `PricingScaleType ${JSON.stringify(type)} is no scale type`);
  // A value scale's thresholds are amounts (ConditionScaleAmount, Edm.Decimal 16,3) in a currency; every
  // other scale's are measures (ConditionScaleQuantity, 15,3) in a unit.
  const byValue = basis === "B";
  const unit = s.unit ?? (byValue ? currency : quantityUnit);
  if (byValue && !/^[A-Z]{3}$/.test(unit))
    throw new S4Error(400, "VK/012", `a value scale's amounts need a currency, not ${JSON.stringify(unit)}`);
  if (unit === "" || unit.length > 3)
    throw new S4Error(400, "VK/012", `${JSON.stringify(unit)} is no unit for the scale`);
  if (s.lines.length === 0 || s.lines.length > 9999)
    throw new S4Error(400, "VK/013", `a scale holds 1 to 9999 lines, not ${s.lines.length}`);
  const threshold = decimal3(byValue ? 13 : 12);
  let before: Big | null = null;
  const lines = s.lines.map((l, i) => {
    if (!threshold.test(l.from))
      throw new S4Error(
        400,
        "VK/014",
        `scale line ${i + 1}: ${JSON.stringify(l.from)} is not a scale threshold`,
      );
    if (!RATE.test(l.rate))
      throw new S4Error(400, "VK/002", `scale line ${i + 1}: ${JSON.stringify(l.rate)} is not a rate`);
    const from = new Big(l.from);
    if (before && !from.gt(before))
      throw new S4Error(
        400,
        "VK/015",
        `scale line ${i + 1}: ${l.from} does not ascend from ${before.toFixed()}`,
      );
    before = from;
    return { from: from.toFixed(3), rate: new Big(l.rate).toFixed(3) };
  });
  return { basis, type, byValue, unit, lines };
}

export class S4StockPricing {
  /** A_MatlStkInAcctMod rows by their whole key. */
  private readonly stock = new Map<string, Row>();
  /** A_SlsPrcgConditionRecord rows by ConditionRecord. */
  readonly records = new Map<string, Row>();
  private nextRecord = 1;

  constructor(private readonly data: S4Data) {}

  /** Sets the quantity of one stock line (a decimal string in the base unit); 0 keeps the line at 0. */
  setStock(place: StockPlace, quantity: string): Row {
    const product = this.data.products.get(place.Material);
    if (!product) throw new S4Error(404, "M3/305", `Material ${place.Material} does not exist`);
    if (!/^-?\d+(\.\d{1,14})?$/.test(quantity))
      throw new S4Error(400, "M7/001", `${JSON.stringify(quantity)} is not a quantity`);
    const row: Row = {
      Material: place.Material,
      Plant: place.Plant ?? "1010",
      StorageLocation: place.StorageLocation ?? "101A",
      Batch: place.Batch ?? "",
      Supplier: "",
      Customer: "",
      WBSElementInternalID: "",
      SDDocument: "",
      SDDocumentItem: "",
      InventorySpecialStockType: place.InventorySpecialStockType ?? "",
      InventoryStockType: place.InventoryStockType ?? "01",
      MaterialBaseUnit: String(product.BaseUnit ?? "PC"),
      MatlWrhsStkQtyInMatlBaseUnit: new Big(quantity).toFixed(3),
    };
    const key = STOCK_KEY.map((k) => String(row[k])).join("|");
    const held = this.stock.get(key);
    if (held) {
      held.MatlWrhsStkQtyInMatlBaseUnit = row.MatlWrhsStkQtyInMatlBaseUnit;
      return held;
    }
    this.stock.set(key, row);
    return row;
  }

  /** Every stock line (A_MatlStkInAcctMod). */
  stockLines(): Row[] {
    return [...this.stock.values()];
  }

  /** A_MaterialStock: one per material with stock, its lines under to_MatlStkInAcctMod. */
  materialStock(): Row[] {
    const by = new Map<string, { row: Row; lines: Row[] }>();
    for (const line of this.stock.values()) {
      const m = String(line.Material);
      let held = by.get(m);
      if (!held) {
        const lines: Row[] = [];
        held = {
          row: { Material: m, MaterialBaseUnit: line.MaterialBaseUnit, _nav: { to_MatlStkInAcctMod: lines } },
          lines,
        };
        by.set(m, held);
      }
      held.lines.push(line);
    }
    return [...by.values()].map((h) => h.row);
  }

  /** Enters a condition record with one validity period; answers the record. */
  addCondition(c: ConditionInput): Row {
    if (!this.data.products.has(c.Material))
      throw new S4Error(404, "M3/305", `Material ${c.Material} does not exist`);
    const currency = c.ConditionRateValueUnit ?? "EUR";
    const scale = c.scale ? scaleOf(c.scale, c.ConditionQuantityUnit ?? "PC", currency) : null;
    const first = scale?.lines[0]?.rate;
    const rate = c.ConditionRateValue ?? first;
    if (rate === undefined)
      throw new S4Error(400, "VK/002", "a condition record needs a rate (ConditionRateValue) or a scale");
    if (!RATE.test(rate)) throw new S4Error(400, "VK/002", `${JSON.stringify(rate)} is not a rate`);
    // The record's rate is its scale's first line: one cannot say another.
    if (first !== undefined && !new Big(rate).eq(first))
      throw new S4Error(
        400,
        "VK/006",
        `ConditionRateValue ${JSON.stringify(rate)} is not the scale's first rate ${JSON.stringify(first)}`,
      );
    const today = Math.floor(this.data.now() / DAY) * DAY;
    const from = c.validFrom ? dayMs(c.validFrom) : today;
    const to = dayMs(c.validTo ?? OPEN_END);
    if (to < from) throw new S4Error(400, "VK/003", "the validity ends before it starts");
    const id = String(this.nextRecord++).padStart(10, "0");
    const type = c.ConditionType ?? "PPR0";
    const record: Row = {
      ConditionRecord: id,
      ConditionSequentialNumber: "01",
      ConditionTable: c.CustomerGroup ? "305" : c.PriceListType ? "306" : "304",
      ConditionApplication: "V",
      ConditionType: type,
      ConditionValidityStartDate: v2Date(from),
      ConditionValidityEndDate: v2Date(to),
      CreatedByUser: "CC0000000001",
      CreationDate: v2Date(today),
      ConditionTextID: "",
      PricingScaleType: scale?.type ?? "",
      PricingScaleBasis: scale?.basis ?? "",
      ConditionScaleQuantity: "0.000",
      ConditionScaleQuantityUnit: scale && !scale.byValue ? scale.unit : "",
      ConditionScaleAmount: "0.000",
      ConditionScaleAmountCurrency: scale?.byValue ? scale.unit : "",
      ConditionCalculationType: c.ConditionCalculationType ?? "C",
      ConditionRateValue: new Big(rate).toFixed(3),
      ConditionRateValueUnit: currency,
      ConditionQuantity: c.ConditionQuantity ?? "1",
      ConditionQuantityUnit: c.ConditionQuantityUnit ?? "PC",
      ConditionToBaseQtyNmrtr: "1",
      ConditionToBaseQtyDnmntr: "1",
      BaseUnit: "PC",
      ConditionLowerLimit: "0.000",
      ConditionUpperLimit: "0.000",
      ConditionAlternativeCurrency: "",
      ConditionExclusion: "",
      ConditionIsDeleted: c.ConditionIsDeleted ?? false,
      AdditionalValueDays: "00",
      FixedValueDate: null,
      PaymentTerms: "",
      CndnMaxNumberOfSalesOrders: "00",
      MinimumConditionBasisValue: "0.000",
      MaximumConditionBasisValue: "0.000",
      MaximumConditionAmount: "0.000",
      IncrementalScale: "",
      PricingScaleLine: "",
      ConditionReleaseStatus: "",
      SalesPriceApprovalRequest: "",
      ConditionChangeReason: "",
      ETag: "",
    };
    const validity: Row = {
      ConditionRecord: id,
      ConditionValidityEndDate: v2Date(to),
      ConditionValidityStartDate: v2Date(from),
      ConditionApplication: "V",
      ConditionType: type,
      ConditionReleaseStatus: "",
      SalesOrganization: c.SalesOrganization ?? "1010",
      DistributionChannel: c.DistributionChannel ?? "10",
      Division: "",
      CustomerGroup: c.CustomerGroup ?? "",
      PriceListType: c.PriceListType ?? "",
      Customer: c.Customer ?? "",
      Material: c.Material,
      TransactionCurrency: c.PriceListType ? currency : "",
      PricingDate: null,
      ConditionIsExclusive: false,
      ETag: "",
    };
    const lines: Row[] = (scale?.lines ?? []).map((l, i) => ({
      ConditionRecord: id,
      ConditionSequentialNumber: "01",
      ConditionScaleLine: String(i + 1).padStart(4, "0"),
      ConditionScaleQuantity: scale?.byValue ? "0.000" : l.from,
      ConditionScaleQuantityUnit: scale?.byValue ? "" : scale?.unit,
      ConditionScaleAmount: scale?.byValue ? l.from : "0.000",
      ConditionScaleAmountCurrency: scale?.byValue ? scale.unit : "",
      ConditionRateValue: l.rate,
      ConditionRateValueUnit: currency,
      ETag: "",
      _nav: { to_SlsPrcgConditionRecord: record, to_SlsPrcgCndnRecdSuplmnt: null },
    }));
    record._nav = {
      to_SlsPrcgCndnRecdValidity: [validity],
      to_SlsPrcgCndnRecdSuplmnt: [],
      to_SlsPrcgCndnRecordScale: lines,
      to_SlsPrcgConditionRecordText: [],
    };
    validity._nav = { to_SlsPrcgConditionRecord: record, to_SlsPrcgCndnRecdSuplmnt: [] };
    this.records.set(id, record);
    return record;
  }

  /** Changes a record's rate, as a pricing clerk's maintenance does. */
  changeRate(id: string, rate: string): Row {
    const r = this.records.get(id);
    if (!r)
      throw new S4Error(
        404,
        "/IWBEP/CM_MGW_RT/020",
        `Resource not found for segment 'A_SlsPrcgConditionRecordType'`,
      );
    if (!RATE.test(rate)) throw new S4Error(400, "VK/002", `${JSON.stringify(rate)} is not a rate`);
    r.ConditionRateValue = new Big(rate).toFixed(3);
    // The record's rate is its scale's first line: changing one changes the other.
    const first = navOf(r, "to_SlsPrcgCndnRecordScale")[0];
    if (first) first.ConditionRateValue = r.ConditionRateValue;
    return r;
  }

  validities(): Row[] {
    return [...this.records.values()].flatMap((r) => navOf(r, "to_SlsPrcgCndnRecdValidity"));
  }

  /** Every scale line (A_SlsPrcgCndnRecordScale), by record and line. */
  scaleLines(): Row[] {
    return [...this.records.values()].flatMap((r) => navOf(r, "to_SlsPrcgCndnRecordScale"));
  }

  /** The seed described in the header, for the products the product seed made. */
  seed(): void {
    let i = 0;
    for (const [id] of this.data.products) {
      i++;
      this.setStock({ Material: id }, String(5 * i + (i % 7)));
      if (i % 3 === 0) this.setStock({ Material: id, InventoryStockType: "02" }, "2");
      if (i % 4 === 0) this.setStock({ Material: id, StorageLocation: "101B" }, "3.500");
      const price = new Big(String(this.data.listPrices.get(id) ?? 10));
      this.addCondition({ Material: id, ConditionRateValue: price.toFixed(2), validFrom: "2025-01-01" });
      if (i % 2 === 0)
        this.addCondition({
          Material: id,
          CustomerGroup: "01",
          ConditionRateValue: price.times("0.9").round(2, Big.roundHalfUp).toFixed(2),
          validFrom: "2025-01-01",
        });
    }
  }
}

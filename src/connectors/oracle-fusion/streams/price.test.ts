import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type FusionEmulator, fusionSpecSkip, startFusionEmulator } from "@passerelle/emulators";
import { SyncError } from "../../../core/errors.ts";
import { SCHEMAS } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { FusionClient, type FusionRow } from "../client.ts";
import { FusionConfig } from "../config.ts";
import type { FusionContext } from "../context.ts";
import { type FusionItemNative, itemStream } from "./item.ts";
import { type FusionPriceNative, priceOf, priceStream } from "./price.ts";

const base = {
  baseUrl: "https://pod.fa.us2.oraclecloud.com",
  username: "integration.user",
  password: "S3cret-Never-Shown",
  businessUnitId: 300000046,
  currency: "USD",
};

function contextOf(settings: Record<string, unknown>): FusionContext {
  const config = FusionConfig.parse({ ...base, ...settings });
  return { name: "erp", config, client: new FusionClient("erp", config) };
}

const list = (over: FusionRow = {}): FusionRow => ({
  PriceListId: 300100000000101,
  PriceListName: "Wholesale USD",
  CurrencyCode: "USD",
  ...over,
});
const item = (over: FusionRow = {}): FusionRow => ({
  PriceListItemId: 300100000000201,
  PriceListId: 300100000000101,
  ItemId: 300100000000001,
  Item: "FG0001",
  ItemLevelCode: "ITEM",
  PricingUOMCode: "Ea",
  LastUpdateDate: "2026-02-01T10:00:00.000Z",
  ...over,
});
const charge = (over: FusionRow = {}): FusionRow => ({
  PriceListChargeId: 300100000000301,
  PricingChargeDefinitionCode: "QP_SALE_PRICE",
  CalculationMethodCode: "PRICE",
  BasePrice: 19.995,
  StartDate: "2026-01-01T00:00:00+00:00",
  EndDate: null,
  ...over,
});
const native = (n: Partial<FusionPriceNative> = {}): FusionPriceNative => ({
  list: list(),
  conf: { name: "Wholesale USD" },
  item: item(),
  charges: [charge()],
  ...n,
});

/** The SyncError `fn` throws, checked to be a data error naming `field`. */
function failure(fn: () => unknown, field: string): SyncError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SyncError, String(err));
    assert.equal(err.kind, "data");
    assert.equal(err.details.field, field);
    return err;
  }
  assert.fail(`no failure naming ${field}`);
}

describe("Oracle Fusion price list items as canonical prices", () => {
  test("a list item's sale charge is the group's price, in the currency's minor unit", () => {
    const p = SCHEMAS.price.parse(priceOf(contextOf({}), native()));
    assert.equal(p.key, "wholesale-usd:FG0001");
    assert.deepEqual(p.priceList, {
      code: "wholesale-usd",
      name: "Wholesale USD",
      customerGroup: "wholesale",
      currency: "USD",
    });
    assert.equal(p.price, "20.00");
    assert.equal(p.validFrom, "2026-01-01");
    assert.equal(p.validTo, undefined);
    assert.equal(p.sourceId, "300100000000101-300100000000201");
    assert.equal(p.updatedAt, "2026-02-01T10:00:00.000Z");
  });

  test("the configured group and code win over the list's name", () => {
    const p = priceOf(
      contextOf({}),
      native({ conf: { name: "Wholesale USD", customerGroup: "b2b", code: "WH" } }),
    );
    assert.equal(p.key, "WH:FG0001");
    assert.equal(p.priceList.customerGroup, "b2b");
  });

  test("yen prices have no decimals, dinar prices three", () => {
    const yen = priceOf(
      contextOf({ currency: "JPY" }),
      native({ list: list({ CurrencyCode: "JPY" }), charges: [charge({ BasePrice: 1234.5 })] }),
    );
    assert.equal(yen.price, "1235");
    const kwd = priceOf(
      contextOf({ currency: "KWD" }),
      native({ list: list({ CurrencyCode: "KWD" }), charges: [charge({ BasePrice: 1.23456 })] }),
    );
    assert.equal(kwd.price, "1.235");
  });

  test("a list in another currency is a failed record naming CurrencyCode and its value", () => {
    const err = failure(
      () => priceOf(contextOf({}), native({ list: list({ CurrencyCode: "EUR" }) })),
      "CurrencyCode",
    );
    assert.match(err.message, /"EUR"/);
    assert.match(err.message, /USD/);
  });

  test("the charge in effect is read; ended ones are not; an upcoming one gives its start", () => {
    const ended = charge({
      BasePrice: 9,
      StartDate: "2020-01-01T00:00:00+00:00",
      EndDate: "2021-01-01T00:00:00+00:00",
    });
    const current = charge({ BasePrice: 11, StartDate: "2021-01-01T00:00:00+00:00" });
    assert.equal(priceOf(contextOf({}), native({ charges: [ended, current] })).price, "11.00");
    const upcoming = charge({ BasePrice: 12, StartDate: "2999-01-01T00:00:00+00:00" });
    const p = priceOf(contextOf({}), native({ charges: [ended, upcoming] }));
    assert.equal(p.price, "12.00");
    assert.equal(p.validFrom, "2999-01-01");
    failure(() => priceOf(contextOf({}), native({ charges: [ended] })), "EndDate");
  });

  test("rows it cannot price are failed records naming the attribute", () => {
    const ctx = contextOf({});
    const other = charge({ PricingChargeDefinitionCode: "QP_RECURRING_PRICE" });
    assert.match(
      failure(() => priceOf(ctx, native({ charges: [other] })), "PricingChargeDefinitionCode").message,
      /QP_RECURRING_PRICE/,
    );
    assert.match(
      failure(
        () => priceOf(ctx, native({ charges: [charge({ CalculationMethodCode: "DISCOUNT_PERCENT" })] })),
        "CalculationMethodCode",
      ).message,
      /DISCOUNT_PERCENT/,
    );
    assert.match(
      failure(() => priceOf(ctx, native({ item: item({ PricingUOMCode: "BOX" }) })), "PricingUOMCode")
        .message,
      /"BOX"/,
    );
    failure(() => priceOf(ctx, native({ item: item({ ItemLevelCode: "ITEM_CATEGORY" }) })), "ItemLevelCode");
    failure(() => priceOf(ctx, native({ item: item({ Item: undefined }) })), "Item");
    failure(() => priceOf(ctx, native({ charges: [charge({ BasePrice: "12" })] })), "BasePrice");
  });

  test("a price list named twice in the settings is refused, naming the entry", () => {
    const r = FusionConfig.safeParse({ ...base, priceLists: [{ name: "A" }, { name: "A" }] });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /priceLists.*1.*name|listed twice/);
  });
});

describe("the price stream against the Oracle Fusion emulator", { skip: fusionSpecSkip() }, () => {
  let emu: FusionEmulator;
  let ctx: FusionContext;
  const settings = (extra: Record<string, unknown>) => ({
    baseUrl: emu.url,
    username: emu.username,
    password: emu.password,
    currency: emu.currency,
    pageSize: 5,
    ...extra,
  });
  const lists = { priceLists: [{ name: "Retail USD" }, { name: "Wholesale USD" }] };
  async function read<N>(
    stream: Stream<"price" | "product", N>,
    since: { updatedAt: string; id: string } | null = null,
  ) {
    const pages: N[][] = [];
    for await (const page of stream.list({ since, signpost: "2999-01-01T00:00:00Z", pageSize: 5 }))
      pages.push(page);
    return pages;
  }
  before(async () => {
    emu = await startFusionEmulator({ items: 9, seed: 2 });
    ctx = contextOf(settings(lists));
  });
  after(() => emu.close());

  test("both lists are read in one (updatedAt, id) order, paged, every row once", async () => {
    const stream = priceStream(ctx);
    // A retail row changed after every wholesale row: the lists interleave.
    const retailRow = emu.data.priceLists.items.find((r) => r.PriceListId === emu.data.priceLists.base);
    emu.data.priceLists.touchItem(retailRow?.PriceListItemId as number);
    const pages = await read(stream);
    for (const p of pages) assert.ok(p.length <= 5);
    const all = pages.flat();
    assert.equal(all.length, 9 + 5);
    const ids = all.map((n) => stream.idOf(n));
    assert.equal(new Set(ids).size, ids.length);
    const stamps = all.map((n) => stream.updatedAtOf(n));
    assert.deepEqual(stamps, [...stamps].sort());
    const prices = all.map((n) => SCHEMAS.price.parse(priceOf(ctx, n)));
    const fg1 = emu.data.items[0] as FusionRow;
    const retail = prices.find((p) => p.key === "retail-usd:FG0001");
    assert.equal(retail?.price, emu.data.prices.get(fg1.ItemId as number));
    assert.equal(retail?.priceList.customerGroup, "retail");
    const wholesale = prices.find((p) => p.key === "wholesale-usd:FG0001");
    assert.equal(wholesale?.priceList.customerGroup, "wholesale");
    assert.ok(Number(wholesale?.price) < Number(retail?.price));
    assert.equal(prices.filter((p) => p.priceList.code === "wholesale-usd").length, 5);
  });

  test("after a cursor, only the items changed since are read", async () => {
    const stream = priceStream(ctx);
    const all = (await read(stream)).flat();
    const last = all.at(-1) as FusionPriceNative;
    const cursor = { updatedAt: stream.updatedAtOf(last), id: stream.idOf(last) };
    const target = emu.data.priceLists.items.find(
      (r) => r.PriceListId === emu.data.priceLists.group,
    ) as FusionRow;
    emu.data.priceLists.touchItem(target.PriceListItemId as number);
    const again = (await read(stream, cursor)).flat().filter((n) => stream.idOf(n) !== cursor.id);
    assert.deepEqual(
      again.map((n) => stream.idOf(n)),
      [`${emu.data.priceLists.group}-${String(target.PriceListItemId)}`],
    );
    const got = await stream.get(stream.idOf(again[0] as FusionPriceNative));
    assert.equal(got?.item.Item, target.Item);
    assert.equal(await stream.get(`${emu.data.priceLists.group}-987654321`), null);
  });

  test("a list named in the settings that Fusion lacks is a configuration error naming the entry", async () => {
    const stream = priceStream(
      contextOf(settings({ priceLists: [{ name: "Retail USD" }, { name: "Gold USD" }] })),
    );
    await assert.rejects(read(stream), (err: SyncError) => {
      assert.equal(err.kind, "config");
      assert.match(err.message, /priceLists\[1\]\.name/);
      assert.match(err.message, /"Gold USD"/);
      return true;
    });
  });

  test("the list in another currency gives failed records naming CurrencyCode", async () => {
    const c = contextOf(settings({ priceLists: [{ name: "Export EUR" }] }));
    const rows = (await read(priceStream(c))).flat();
    assert.equal(rows.length, 2);
    for (const n of rows) failure(() => priceOf(c, n), "CurrencyCode");
  });

  test("products take their base list price; an item the base list lacks is a failed record", async () => {
    const c = contextOf(settings({ basePriceList: "Retail USD" }));
    const stream = itemStream(c);
    const list = c.client.list.bind(c.client);
    let lookups = 0;
    c.client.list = (path, params) => {
      if (path === "priceLists") lookups++;
      return list(path, params);
    };
    const pages = await read(stream);
    const rows = pages.flat();
    assert.equal(rows.length, 9);
    // Two pages of five and four: the base list is looked up once for the read, not once per page.
    assert.equal(pages.length, 2);
    assert.equal(lookups, 1);
    for (const n of rows) {
      const p = SCHEMAS.product.parse(stream.toCanonical(n));
      assert.equal(p.variants[0]?.price, emu.data.prices.get(n.row.ItemId as number));
    }
    const first = emu.data.items[0] as FusionRow;
    const row = emu.data.priceLists.items.find(
      (r) => r.PriceListId === emu.data.priceLists.base && r.ItemId === first.ItemId,
    ) as FusionRow;
    row.PricingUOMCode = "BOX";
    const lacking = (await stream.get(String(first.ItemId))) as FusionItemNative;
    row.PricingUOMCode = "Ea";
    assert.match(failure(() => stream.toCanonical(lacking), "ItemId").message, /Retail USD/);
    const none = itemStream(contextOf(settings({})));
    const plain = (await read(none)).flat()[0] as FusionItemNative;
    assert.equal(SCHEMAS.product.parse(none.toCanonical(plain)).variants[0]?.price, "0");
  });

  test("no request broke the SCM collections", () => {
    assert.deepEqual(emu.violations, []);
  });
});

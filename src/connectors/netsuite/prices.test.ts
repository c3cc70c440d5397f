/**
 * Price levels as customer-group price lists, and invoice tax summed as decimals, read from the NetSuite emulator:
 * what is read, what is left out, and bad rows as failed records naming the field and the value.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type NetSuiteEmulator, startNetSuiteEmulator } from "@passerelle/emulators";
import { SyncError } from "../../core/errors.ts";
import { type Price, SCHEMAS } from "../../core/model.ts";
import { type Connector, type Stream, streamOf } from "../../ports/connector.ts";
import { NetSuiteConfig } from "./config.ts";
import { netsuite } from "./index.ts";

type Row = Record<string, unknown>;

let emu: NetSuiteEmulator;
before(async () => {
  emu = await startNetSuiteEmulator({ items: 3, customers: 1 });
});
after(() => emu.close());

const settings = (extra: Record<string, unknown> = {}) =>
  NetSuiteConfig.parse({
    accountId: emu.accountId,
    url: emu.url,
    consumerKey: emu.consumerKey,
    consumerSecret: emu.consumerSecret,
    tokenId: emu.tokenId,
    tokenSecret: emu.tokenSecret,
    pageSize: 2,
    ...extra,
  });

async function withConnector<T>(extra: Record<string, unknown>, run: (c: Connector) => Promise<T>) {
  const c = netsuite.create("erp", settings(extra));
  try {
    return await run(c);
  } finally {
    await c.close();
  }
}

const itemIds = () => [...(emu.records.get("inventoryItem") as Map<string, Row>).keys()];
/** The seeded Wholesale price: the item's base price less 2. */
const wholesale = (id: string) =>
  Number((emu.records.get("inventoryItem") as Map<string, Row>).get(id)?.basePrice) - 2;
const skuOf = (id: string) => String((emu.records.get("inventoryItem") as Map<string, Row>).get(id)?.itemId);

/** Every record of a read: its canonical form, or the failure toCanonical raised for it. */
async function readAll(stream: Stream) {
  const out: { id: string; price?: Price; error?: SyncError }[] = [];
  for await (const page of stream.list({ since: null, signpost: "2999-01-01T00:00:00Z", pageSize: 2 })) {
    for (const native of page) {
      const id = stream.idOf(native);
      try {
        out.push({ id, price: SCHEMAS.price.parse(await stream.toCanonical(native)) as Price });
      } catch (e) {
        assert.ok(e instanceof SyncError, String(e));
        out.push({ id, error: e });
      }
    }
  }
  return out;
}

const WHOLESALE = { priceLevels: [{ name: "Wholesale", customerGroup: "trade" }] };

test("a configured level is the price list of its customer group: the first quantity break of each item", async () => {
  await withConnector(WHOLESALE, async (c) => {
    const stream = streamOf(c, "price") as Stream;
    assert.equal(stream.sorted, false, "pricing has no modification date: a snapshot");
    const read = await readAll(stream);
    const items = itemIds();
    // Seeded: Base Price (level 1) and Wholesale (level 2, two quantity breaks) per item; only break 1 of level 2.
    assert.deepEqual(
      read.map((r) => [r.price?.sku, r.price?.price, r.price?.priceList]),
      items.map((id) => {
        const base = Number((emu.records.get("inventoryItem") as Map<string, Row>).get(id)?.basePrice);
        return [
          skuOf(id),
          (base - 2).toFixed(2),
          { code: "wholesale", name: "Wholesale", customerGroup: "trade", currency: "EUR" },
        ];
      }),
    );
    assert.deepEqual(
      read.map((r) => r.id),
      items.map((id) => `${id}-2-2`),
    );
    assert.equal(read[0]?.price?.key, `wholesale:${skuOf(items[0] as string)}`);
    assert.deepEqual(read[0]?.price?.tiers, []);
    const one = await stream.get(`${items[1]}-2-2`);
    assert.equal(SCHEMAS.price.parse(await stream.toCanonical(one)).sku, skuOf(items[1] as string));
    assert.equal(await stream.get(`${items[1]}-1-2`), null, "Base Price is not configured");
    assert.equal(await stream.get(`${items[1]}-2-3`), null, "no GBP price");
  });
});

test("unit prices are rounded to the currency's minor unit with decimals, half away from zero", async () => {
  const [a, b] = itemIds() as [string, string];
  emu.setPrice(a, "2", "2", 12.345);
  emu.setPrice(b, "2", "2", "1.005");
  try {
    await withConnector(WHOLESALE, async (c) => {
      const read = await readAll(streamOf(c, "price") as Stream);
      assert.equal(read.find((r) => r.id === `${a}-2-2`)?.price?.price, "12.35");
      // 1.005 as a JS number is 1.00499999999999989...: float rounding would say 1.00.
      assert.equal(read.find((r) => r.id === `${b}-2-2`)?.price?.price, "1.01");
    });
  } finally {
    emu.setPrice(a, "2", "2", wholesale(a));
    emu.setPrice(b, "2", "2", wholesale(b));
  }
});

test("a price in a currency the list is not in, or a unit price that is no price, is a failed record; the rest proceeds", async () => {
  const [a, b, c] = itemIds() as [string, string, string];
  emu.setPrice(a, "2", "3", 7.5); // GBP
  emu.setPrice(b, "2", "2", "12,50");
  emu.setPrice(c, "2", "2", -1);
  try {
    await withConnector(WHOLESALE, async (conn) => {
      const read = await readAll(streamOf(conn, "price") as Stream);
      const gbp = read.find((r) => r.id === `${a}-2-3`);
      assert.equal(gbp?.error?.kind, "data");
      assert.equal(gbp?.error?.details.field, "currency");
      assert.match(
        gbp?.error?.message ?? "",
        /currency "3" \("GBP"\) is not the currency of the level's price list \(EUR\)/,
      );
      const comma = read.find((r) => r.id === `${b}-2-2`);
      assert.equal(comma?.error?.details.field, "unitprice");
      assert.match(comma?.error?.message ?? "", /unitprice "12,50" is not a price/);
      assert.equal(read.find((r) => r.id === `${c}-2-2`)?.error?.details.field, "unitprice");
      assert.equal(
        read.find((r) => r.id === `${a}-2-2`)?.price?.price,
        wholesale(a).toFixed(2),
        "the same item's EUR price is read",
      );
    });
    // Listing the level for GBP as well makes the GBP row a price of that list.
    await withConnector(
      {
        priceLevels: [
          ...WHOLESALE.priceLevels,
          { name: "Wholesale", customerGroup: "trade-uk", currency: "GBP" },
        ],
      },
      async (conn) => {
        const read = await readAll(streamOf(conn, "price") as Stream);
        const gbp = read.find((r) => r.id === `${a}-2-3`)?.price;
        assert.deepEqual(gbp?.priceList, {
          code: "wholesale-gbp",
          name: "Wholesale",
          customerGroup: "trade-uk",
          currency: "GBP",
        });
        assert.equal(gbp?.price, "7.50");
        assert.equal(read.find((r) => r.id === `${a}-2-2`)?.price?.priceList.code, "wholesale-eur");
      },
    );
  } finally {
    emu.setPrice(a, "2", "3", null);
    emu.setPrice(b, "2", "2", wholesale(b));
    emu.setPrice(c, "2", "2", wholesale(c));
  }
});

test("a price level name NetSuite does not know is a config error naming it", async () => {
  await withConnector(
    {
      priceLevels: [
        { name: "Wholesale", customerGroup: "trade" },
        { name: "Gold", customerGroup: "vip" },
      ],
    },
    async (c) => {
      await assert.rejects(readAll(streamOf(c, "price") as Stream), (e: unknown) => {
        assert.ok(e instanceof SyncError);
        assert.equal(e.kind, "config");
        assert.equal(e.details.field, "priceLevels[1].name");
        assert.match(e.message, /"Gold" is not a NetSuite price level/);
        return true;
      });
      // The connection's check finds it before any sync starts.
      await assert.rejects(
        c.check(),
        (e: unknown) =>
          e instanceof SyncError && e.kind === "config" && e.details.field === "priceLevels[1].name",
      );
    },
  );
  await withConnector(WHOLESALE, (c) => c.check());
  const twice = NetSuiteConfig.safeParse({
    ...settings(),
    priceLevels: [
      { name: "Wholesale", customerGroup: "a" },
      { name: "Wholesale", customerGroup: "b" },
    ],
  });
  assert.equal(twice.success, false);
  assert.deepEqual(twice.error?.issues[0]?.path, ["priceLevels", 1, "name"]);
});

test("no price levels configured: nothing is read", async () => {
  await withConnector({}, async (c) => {
    assert.deepEqual(await readAll(streamOf(c, "price") as Stream), []);
  });
});

/** A sales order as the order writer leaves it (the shop's key in otherRefNum), invoiced with these tax lines. */
function invoiced(serial: number, taxLines: (number | string)[]): string {
  const orders = emu.records.get("salesOrder") as Map<string, Row>;
  const id = String(800000 + serial);
  orders.set(id, {
    id,
    tranId: `SO-T${serial}`,
    entity: { id: [...(emu.records.get("customer") as Map<string, Row>).keys()][0] },
    otherRefNum: `shop:T-${serial}`,
    tranDate: "2026-06-01",
    currency: { id: "2" },
    item: { items: [{ item: { id: itemIds()[0] }, quantity: 1, rate: 4, amount: 4 }] },
    subtotal: 4,
    taxTotal: 0.81,
    total: 4.81,
  });
  emu.touch("salesOrder", id);
  return String(emu.invoice(id, { taxLines }).id);
}

test("invoice tax is the sum of its tax lines as decimals, not as JS numbers", async () => {
  // -0.7 + -0.105 is -0.8049999999999999 as JS numbers, which rounds to 0.80; the decimal sum is 0.805 → 0.81.
  const id = invoiced(1, [-0.7, -0.105]);
  const bad = invoiced(2, [-0.5, "n/a"]);
  await withConnector({}, async (c) => {
    const stream = streamOf(c, "invoice") as Stream;
    const inv = SCHEMAS.invoice.parse(await stream.toCanonical(await stream.get(id)));
    assert.equal(inv.totalTax, "0.81");
    assert.equal(inv.total, "4.81");
    const native = await stream.get(bad);
    assert.throws(
      () => stream.toCanonical(native),
      (e: unknown) =>
        e instanceof SyncError &&
        e.kind === "data" &&
        e.details.field === "foreignamount" &&
        /foreignamount "n\/a" is not an amount/.test(e.message),
    );
  });
});

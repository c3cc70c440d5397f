import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FUSION_ROOT, fusionContract, fusionSpecSkip } from "./contract.ts";
import { FUSION_PRICE_READ_ONLY, type FusionEmulator, startFusionEmulator } from "./server.ts";

describe("the Oracle Fusion emulator", { skip: fusionSpecSkip() }, () => {
  let emu: FusionEmulator;
  let auth: string;
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${emu.url}${FUSION_ROOT}${path}`, {
      method,
      headers: { authorization: auth, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  before(async () => {
    emu = await startFusionEmulator({ items: 30, seed: 3 });
    auth = `Basic ${Buffer.from(`${emu.username}:${emu.password}`).toString("base64")}`;
  });
  after(() => emu.close());

  test("answers 401 without the right basic credentials", async () => {
    const res = await fetch(`${emu.url}${FUSION_ROOT}/itemsV2`);
    assert.equal(res.status, 401);
  });

  test("pages with limit/offset and hasMore, filters with q, sorts with orderBy", async () => {
    const p1 = (await (await call("GET", "/itemsV2?limit=10&offset=0&orderBy=ItemNumber:desc")).json()) as {
      items: { ItemNumber: string }[];
      hasMore: boolean;
      count: number;
    };
    assert.equal(p1.count, 10);
    assert.equal(p1.hasMore, true);
    assert.equal(p1.items[0]?.ItemNumber, "FG0030");
    const p3 = (await (await call("GET", "/itemsV2?limit=10&offset=20")).json()) as { hasMore: boolean };
    assert.equal(p3.hasMore, false);
    const one = (await (await call("GET", "/itemsV2?q=ItemNumber='FG0007'")).json()) as { items: unknown[] };
    assert.equal(one.items.length, 1);
    assert.equal((await call("GET", "/itemsV2?q=NoSuchAttr='x'")).status, 400);
  });

  test("refuses and records what the collections do not define", async () => {
    const before = emu.violations.length;
    assert.equal((await call("GET", "/noSuchResource")).status, 400);
    assert.equal((await call("GET", "/itemsV2?sortBy=ItemId")).status, 400);
    assert.equal(
      (
        await call("POST", "/salesOrdersForOrderHub", {
          SourceTransactionSystem: "X",
          SourceTransactionId: "1",
          SourceTransactionNumber: "1",
          BusinessUnitId: 1,
          InventedAttribute: "x",
        })
      ).status,
      400,
    );
    assert.equal(emu.violations.length, before + 3);
    assert.match(emu.violations.at(-1) ?? "", /InventedAttribute/);
  });

  test("serves price lists, their items and charges, found by name and paged", async () => {
    type Page = { items: Record<string, unknown>[]; hasMore: boolean; count: number };
    const lists = (await (
      await call("GET", "/priceLists?q=PriceListName='Wholesale USD'&onlyData=true")
    ).json()) as Page;
    assert.equal(lists.items.length, 1);
    const id = lists.items[0]?.PriceListId;
    assert.equal(id, emu.data.priceLists.group);
    const p1 = (await (
      await call(
        "GET",
        `/priceLists/${id}/child/items?limit=10&offset=0&orderBy=LastUpdateDate:asc,PriceListItemId:asc`,
      )
    ).json()) as Page;
    assert.equal(p1.count, 10);
    assert.equal(p1.hasMore, true);
    const p2 = (await (await call("GET", `/priceLists/${id}/child/items?limit=10&offset=10`)).json()) as Page;
    assert.equal(p2.count, 5);
    assert.equal(p2.hasMore, false);
    const row = p1.items[0] as Record<string, unknown>;
    assert.equal(row.PriceListId, id);
    const one = (await (
      await call("GET", `/priceLists/${id}/child/items/${row.PriceListItemId}`)
    ).json()) as Record<string, unknown>;
    assert.equal(one.Item, row.Item);
    const charges = (await (
      await call("GET", `/priceLists/${id}/child/items/${row.PriceListItemId}/child/charges?limit=25`)
    ).json()) as Page;
    assert.equal(charges.items.length, 1);
    assert.equal(charges.items[0]?.PricingChargeDefinitionCode, "QP_SALE_PRICE");
    assert.equal(typeof charges.items[0]?.BasePrice, "number");
    const byItem = (await (
      await call(
        "GET",
        `/priceLists/${emu.data.priceLists.base}/child/items?q=ItemId=${row.ItemId};PricingUOMCode='Ea'`,
      )
    ).json()) as Page;
    assert.equal(byItem.items.length, 1);
    assert.equal((await call("GET", `/priceLists/${id}/child/items/987654321`)).status, 404);
    assert.equal((await call("GET", `/priceLists/${id}/child/items?q=Price='1'`)).status, 400);
  });

  test("price list rows carry only attributes the collections show, or documented read-only ones", () => {
    const contract = fusionContract();
    const rows: [string, Record<string, unknown>[]][] = [
      ["/priceLists", emu.data.priceLists.lists],
      ["/priceLists/:PriceListId/child/items", emu.data.priceLists.items],
      ["/priceLists/:PriceListId/child/items/:PriceListItemId/child/charges", emu.data.priceLists.charges],
    ];
    for (const [resource, list] of rows) {
      const shown = contract.attributes.get(resource);
      assert.ok(shown, `the collections show no body for ${resource}`);
      const readOnly = new Set(FUSION_PRICE_READ_ONLY[resource]);
      for (const name of new Set(list.flatMap((r) => Object.keys(r)))) {
        assert.ok(
          shown.has(name) || readOnly.has(name),
          `${resource}: ${name} is neither shown nor documented`,
        );
        assert.ok(!(shown.has(name) && readOnly.has(name)), `${resource}: ${name} is shown, not read-only`);
      }
    }
  });
});

/**
 * The Magento emulator's own tests: the document in front of it refuses what Adobe's OpenAPI refuses, and
 * the rules behind it are Magento's (store view scope, configurable children, MSI validation, paging past
 * the last page, shipments completing orders). Driven over plain HTTP, never through the connector.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { magentoContract, magentoSpecSkip } from "./contract.ts";
import { type MagentoEmulator, startMagentoEmulator } from "./server.ts";

describe("the Magento emulator", { skip: magentoSpecSkip() }, () => {
  let emu: MagentoEmulator;
  before(async () => {
    emu = await startMagentoEmulator({ customers: 5 });
  });
  after(() => emu.close());

  async function call(method: string, path: string, body?: unknown, token = emu.token) {
    const res = await fetch(`${emu.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  const simple = (sku: string, extra: Record<string, unknown> = {}) => ({
    product: { sku, name: `Product ${sku}`, price: 10, attribute_set_id: 4, type_id: "simple", ...extra },
  });

  describe("the contract in front of the emulator", () => {
    test("a request the document does not allow is refused with a 400 and recorded", async () => {
      const before = emu.violations.length;
      const extra = await call("POST", "/rest/all/V1/products", { product: { sku: "X", colour: "red" } });
      assert.equal(extra.status, 400);
      assert.match(extra.body.message, /additional properties \(colour\)/);
      const typed = await call("POST", "/rest/all/V1/products", { product: { sku: "X", price: "10" } });
      assert.equal(typed.status, 400);
      assert.match(typed.body.message, /price must be number/);
      // The document spells searchCriteria in camelCase; snake_case is not one of its parameters.
      const snake = await call(
        "GET",
        "/rest/all/V1/products?searchCriteria[filter_groups][0][filters][0][field]=sku",
      );
      assert.equal(snake.status, 400);
      const page = await call("GET", "/rest/all/V1/products?searchCriteria[pageSize]=ten");
      assert.equal(page.status, 400);
      assert.equal(emu.violations.length - before, 4);
      emu.violations.splice(before);
    });

    test("the document's answers are checked: a body missing a required field is a violation", () => {
      const c = magentoContract();
      const v = c.checkRequest({
        method: "GET",
        path: "/rest/default/V1/store/storeViews",
        query: new URLSearchParams(),
        body: undefined,
      });
      assert.ok(v.operation);
      assert.deepEqual(c.checkResponse(v.operation, 200, [{ id: 1, code: "default" }]).length > 0, true);
      assert.deepEqual(c.checkResponse(v.operation, 500, { message: "boom" }), []);
      assert.deepEqual(
        c.checkResponse(v.operation, 200, [
          { id: 1, code: "x", name: "X", website_id: 1, store_group_id: 1, is_active: 1 },
        ]),
        [],
      );
    });

    test("a wrong token is a 401 in the document's error shape", async () => {
      const res = await call("GET", "/rest/all/V1/store/storeViews", undefined, "nope");
      assert.equal(res.status, 401);
      assert.deepEqual(res.body.parameters, [{ resources: "Magento_Backend::admin" }]);
      assert.deepEqual(emu.violations, []);
    });
  });

  describe("Magento's rules", () => {
    test("through a store view a name becomes that view's own; through `all` the global value", async () => {
      assert.equal((await call("POST", "/rest/all/V1/products", simple("SCOPE-1"))).status, 200);
      await call("PUT", "/rest/fr/V1/products/SCOPE-1", { product: { sku: "SCOPE-1", name: "Produit" } });
      assert.equal((await call("GET", "/rest/fr/V1/products/SCOPE-1")).body.name, "Produit");
      assert.equal((await call("GET", "/rest/all/V1/products/SCOPE-1")).body.name, "Product SCOPE-1");
      assert.equal((await call("GET", "/rest/default/V1/products/SCOPE-1")).body.name, "Product SCOPE-1");
      await call("PUT", "/rest/all/V1/products/SCOPE-1", { product: { sku: "SCOPE-1", name: "Renamed" } });
      assert.equal((await call("GET", "/rest/default/V1/products/SCOPE-1")).body.name, "Renamed");
      assert.equal((await call("GET", "/rest/fr/V1/products/SCOPE-1")).body.name, "Produit");
      assert.equal((await call("GET", "/rest/nowhere/V1/products/SCOPE-1")).status, 400);
    });

    test("a configurable's children are simples carrying distinct option values", async () => {
      const size = emu.data.attributes.get("size")!;
      const s = (
        await call("POST", "/rest/all/V1/products/attributes/size/options", {
          option: { label: "S", value: "" },
        })
      ).body;
      const m = (
        await call("POST", "/rest/all/V1/products/attributes/size/options", {
          option: { label: "M", value: "" },
        })
      ).body;
      assert.match(s, /^id_\d+$/);
      const [sId, mId] = [s.slice(3), m.slice(3)];
      const a = (
        await call(
          "POST",
          "/rest/all/V1/products",
          simple("CFG-S", { custom_attributes: [{ attribute_code: "size", value: sId }] }),
        )
      ).body;
      const b = (
        await call(
          "POST",
          "/rest/all/V1/products",
          simple("CFG-M", { custom_attributes: [{ attribute_code: "size", value: mId }] }),
        )
      ).body;
      const twin = (
        await call(
          "POST",
          "/rest/all/V1/products",
          simple("CFG-S2", { custom_attributes: [{ attribute_code: "size", value: sId }] }),
        )
      ).body;
      const parent = (links: number[]) => ({
        product: {
          sku: "CFG",
          name: "Configurable",
          attribute_set_id: 4,
          type_id: "configurable",
          extension_attributes: {
            configurable_product_options: [
              {
                attribute_id: String(size.attribute_id),
                label: "Size",
                values: [{ value_index: Number(sId) }, { value_index: Number(mId) }],
              },
            ],
            configurable_product_links: links,
          },
        },
      });
      const same = await call("POST", "/rest/all/V1/products", parent([a.id, twin.id]));
      assert.equal(same.status, 400);
      assert.match(same.body.message, /same set of attribute values/);
      const ok = await call("POST", "/rest/all/V1/products", parent([a.id, b.id]));
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body.extension_attributes.configurable_product_links, [a.id, b.id]);
      const children = (await call("GET", "/rest/all/V1/configurable-products/CFG/children")).body;
      assert.deepEqual(
        children.map((c: { sku: string }) => c.sku),
        ["CFG-S", "CFG-M"],
      );
      const unknownOption = await call(
        "POST",
        "/rest/all/V1/products",
        simple("CFG-X", { custom_attributes: [{ attribute_code: "size", value: "99999" }] }),
      );
      assert.equal(unknownOption.status, 400);
    });

    test("one bad source item refuses the whole request", async () => {
      await call("POST", "/rest/all/V1/products", simple("MSI-1"));
      const res = await call("POST", "/rest/all/V1/inventory/source-items", {
        sourceItems: [
          { sku: "MSI-1", source_code: "default", quantity: 5, status: 1 },
          { sku: "MSI-1", source_code: "nowhere", quantity: 5, status: 1 },
        ],
      });
      assert.equal(res.status, 400);
      assert.match(res.body.errors[0].message, /Source "nowhere" does not exist/);
      assert.equal(emu.data.sourceItems.has("MSI-1|default"), false);
      assert.equal(
        (
          await call("POST", "/rest/all/V1/inventory/source-items", {
            sourceItems: [{ sku: "MSI-1", source_code: "default", quantity: 5, status: 1 }],
          })
        ).status,
        200,
      );
      assert.equal(emu.data.sourceItems.get("MSI-1|default")?.quantity, 5);
    });

    test("a page past the last answers the last page again", async () => {
      const q =
        "searchCriteria[pageSize]=2&searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=ASC";
      const last = await call("GET", `/rest/all/V1/customers/search?${q}&searchCriteria[currentPage]=3`);
      const beyond = await call("GET", `/rest/all/V1/customers/search?${q}&searchCriteria[currentPage]=9`);
      assert.equal(last.body.total_count, 5);
      assert.deepEqual(beyond.body.items, last.body.items);
      assert.equal(beyond.body.items.length, 1);
    });

    test("tier prices: refused rows are answered in the list, the others saved", async () => {
      await call("POST", "/rest/all/V1/products", simple("TIER-1"));
      const row = {
        sku: "TIER-1",
        website_id: 0,
        customer_group: "Wholesale",
        quantity: 1,
        price: 8,
        price_type: "fixed",
      };
      const res = await call("POST", "/rest/all/V1/products/tier-prices", {
        prices: [row, { ...row, customer_group: "Nobody" }],
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 1);
      assert.match(res.body[0].message, /Customer Group/);
      const held = (await call("POST", "/rest/all/V1/products/tier-prices-information", { skus: ["TIER-1"] }))
        .body;
      assert.deepEqual(held, [row]);
    });

    test("shipping everything completes a paid order; a second shipment is refused", async () => {
      await call("POST", "/rest/all/V1/products", simple("SHIP-1"));
      const order = emu.data.placeOrder({ customerId: 1, lines: [{ sku: "SHIP-1", qty: 2 }] });
      const item = order.items[0]!;
      const part = await call("POST", `/rest/all/V1/order/${order.entity_id}/ship`, {
        items: [{ order_item_id: item.item_id, qty: 1 }],
        tracks: [{ track_number: "1Z1", title: "UPS", carrier_code: "ups" }],
      });
      assert.equal(part.status, 200);
      assert.equal(emu.data.orders.get(order.entity_id)?.state, "processing");
      await call("POST", `/rest/all/V1/order/${order.entity_id}/ship`, {});
      assert.equal(emu.data.orders.get(order.entity_id)?.state, "complete");
      const again = await call("POST", `/rest/all/V1/order/${order.entity_id}/ship`, {});
      assert.equal(again.status, 400);
      assert.match(again.body.message, /does not allow a shipment/);
      assert.equal((await call("POST", `/rest/all/V1/orders/${order.entity_id}/cancel`)).body, false);
      assert.deepEqual(emu.violations, []);
    });
  });

  test("async bulk: accepted with 202, open until the consumer runs, then each operation's outcome", async () => {
    await call("POST", "/rest/all/V1/products", simple("BULK-1"));
    const res = await fetch(`${emu.url}/rest/all/async/bulk/V1/inventory/source-items`, {
      method: "POST",
      headers: { authorization: `Bearer ${emu.token}`, "content-type": "application/json" },
      body: JSON.stringify([
        { sourceItems: [{ sku: "BULK-1", source_code: "default", quantity: 7, status: 1 }] },
        { sourceItems: [{ sku: "BULK-1", source_code: "nowhere", quantity: 7, status: 1 }] },
      ]),
    });
    assert.equal(res.status, 202);
    const { bulk_uuid } = (await res.json()) as { bulk_uuid: string };
    const first = (await call("GET", `/rest/all/V1/bulk/${bulk_uuid}/status`)).body;
    assert.deepEqual(
      first.operations_list.map((o: { status: number }) => o.status),
      [4, 4],
    );
    const second = (await call("GET", `/rest/all/V1/bulk/${bulk_uuid}/status`)).body;
    assert.deepEqual(
      second.operations_list.map((o: { status: number }) => o.status),
      [1, 3],
    );
    assert.match(second.operations_list[1].result_message, /Source "nowhere" does not exist/);
    assert.equal(emu.data.sourceItems.get("BULK-1|default")?.quantity, 7);
    const wrong = await call("POST", "/rest/all/async/bulk/V1/inventory/source-items", { sourceItems: [] });
    assert.equal(wrong.status, 400, "an async bulk body that is not an array is refused");
    emu.violations.splice(0);
  });
});

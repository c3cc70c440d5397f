/**
 * A price-list channel Passerelle writes into Vendure can sell: a customer of the list's group (a storefront
 * account that Passerelle put in the group from Tryton's price list) logs in to that channel through the
 * Shop API (the storefront sends the channel's token), checks out, pays with the shop's payment method,
 * and the order is settled at the list's price with stock allocated where Tryton's stock was written.
 * Both channels start the way Passerelle made channels before it equipped them (no stock location, shipping
 * or payment method), as a merchant upgrading has them: VIP exists before the first price is written to
 * it; Wholesale is stripped after its prices were written, and only a stock level changes afterwards.
 * Both are repaired without being recreated.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Big from "big.js";
import {
  type SeedResult,
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { passerelleYaml, syncOk } from "../../scripts/real/vendure-passerelle.ts";
import {
  placeShopOrder,
  registerShopCustomer,
  type VendureAdmin,
  variantIds,
  vendureAdmin,
} from "../../scripts/real/vendure-shop.ts";

const PASSWORD = "shopper-password-1";
const LOCATIONS: Record<string, string> = { WH: "Main Warehouse", WH2: "East Warehouse" };
const nested = (row: Record<string, unknown>, field: string): Record<string, unknown> =>
  (row[`${field}.`] as Record<string, unknown> | undefined) ?? {};
const decimal = (d: unknown): Big =>
  new Big(String(d && typeof d === "object" && "decimal" in d ? (d as { decimal: unknown }).decimal : d));

interface Level {
  stockOnHand: number;
  stockAllocated: number;
  stockLocation: { name: string };
}

const ready = trytonAvailable();
const skip = !ready.ok ? ready.missing : vendureVersion() === null ? "@vendure/core is not installed" : false;

describe("price-list channels written by Passerelle can sell", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let seed: SeedResult;
  let session: TrytonSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-vendure-channels-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    seed = await seedTryton(erp, { products: 6, variantsEvery: 3, prefix: "CH" });
    session = await trytonSession(erp);
    admin = await vendureAdmin(shop);
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      passerelleYaml({
        store: join(dir, "passerelle.sqlite"),
        erp,
        shopUrl: shop.url,
        shopUser: shop.adminUser,
        locationMap: LOCATIONS,
        flows: [
          { name: "products", entity: "product" },
          { name: "customers", entity: "customer" },
          { name: "prices", entity: "price" },
          { name: "stock", entity: "inventory" },
        ],
      }),
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  /** Takes from a channel every stock location, shipping and payment method it has. */
  async function stripChannel(ch: { id: string; token: string }): Promise<void> {
    const has = await admin<{
      stockLocations: { items: { id: string }[] };
      shippingMethods: { items: { id: string }[] };
      paymentMethods: { items: { id: string }[] };
    }>("{stockLocations{items{id}} shippingMethods{items{id}} paymentMethods{items{id}}}", {}, ch.token);
    const ids = (l: { items: { id: string }[] }) => l.items.map((i) => i.id);
    await admin(
      `mutation($s:RemoveStockLocationsFromChannelInput!,$h:RemoveShippingMethodsFromChannelInput!,$p:RemovePaymentMethodsFromChannelInput!){
        removeStockLocationsFromChannel(input:$s){id} removeShippingMethodsFromChannel(input:$h){id} removePaymentMethodsFromChannel(input:$p){id}}`,
      {
        s: { stockLocationIds: ids(has.stockLocations), channelId: ch.id },
        h: { shippingMethodIds: ids(has.shippingMethods), channelId: ch.id },
        p: { paymentMethodIds: ids(has.paymentMethods), channelId: ch.id },
      },
    );
    const left = await admin<typeof has>(
      "{stockLocations{items{id}} shippingMethods{items{id}} paymentMethods{items{id}}}",
      {},
      ch.token,
    );
    assert.deepEqual(
      [left.stockLocations.items, left.shippingMethods.items, left.paymentMethods.items],
      [[], [], []],
      "the channel was stripped",
    );
  }

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a customer of each list's group orders in its channel, at the list's price, from the written stock", async () => {
    // The VIP channel as an earlier Passerelle created it: the default channel's zones, nothing to sell with.
    const base = await admin<{
      activeChannel: { defaultTaxZone: { id: string }; defaultShippingZone: { id: string } };
    }>("{activeChannel{defaultTaxZone{id} defaultShippingZone{id}}}");
    await admin(
      `mutation($i:CreateChannelInput!){createChannel(input:$i){__typename ...on ErrorResult{message}}}`,
      {
        i: {
          code: "vip",
          token: "price-list-vip",
          defaultLanguageCode: "en",
          pricesIncludeTax: false,
          defaultCurrencyCode: "EUR",
          availableCurrencyCodes: ["EUR"],
          defaultTaxZoneId: base.activeChannel.defaultTaxZone.id,
          defaultShippingZoneId: base.activeChannel.defaultShippingZone.id,
        },
      },
    );

    // The two Tryton customers have accounts in the storefront; the ERP gives them their price list.
    for (const c of seed.customers) {
      await registerShopCustomer(shop, {
        email: c.email,
        firstName: "Shop",
        lastName: "Account",
        password: PASSWORD,
      });
    }

    await syncOk(env, ["products", "customers", "prices", "stock"]);

    const channels = await admin<{ channels: { items: { id: string; code: string; token: string }[] } }>(
      "{channels(options:{take:100}){items{id code token}}}",
    );
    const ids = await variantIds(admin, seed.skus);
    const sizeSku = seed.skus.find((s) => /-M$/.test(s));
    const plainSku = seed.skus[0];
    assert.ok(sizeSku && plainSku);

    // An upgrade: the Wholesale channel as an earlier Passerelle left it, prices written and linked but
    // nothing to sell with. No price changes in Tryton, a stock level does: the stock sync repairs it.
    const wholesale = channels.channels.items.find((c) => c.code === "wholesale");
    assert.ok(wholesale);
    await stripChannel(wholesale);
    const [wh] = await session.find("stock.location", [["code", "=", "WH"]], ["storage_location"]);
    const [plain] = await session.find("product.product", [["code", "=", plainSku]], ["id"]);
    const [inventory] = await session.create("stock.inventory", [
      {
        location: wh?.storage_location,
        company: session.context.company,
        lines: [["create", [{ product: plain?.id, quantity: 77 }]]],
      },
    ]);
    await session.model("stock.inventory", "confirm", [inventory]);
    const runs = await syncOk(env, ["prices", "stock"]);
    assert.deepEqual(
      runs.map((r) => [r.flow, (r.counts.created ?? 0) + (r.counts.updated ?? 0)]),
      [
        ["prices", 0],
        ["stock", 1],
      ],
      JSON.stringify(runs),
    );
    const erpVariants = await session.find(
      "product.product",
      [["code", "in", [plainSku, sizeSku]]],
      ["code", "template.list_price"],
    );
    const listPrice = new Map(
      erpVariants.map((v) => [String(v.code), decimal(nested(v, "template").list_price)]),
    );

    for (const list of seed.priceLists) {
      const code = list.name.toLowerCase();
      const ch = channels.channels.items.find((c) => c.code === code);
      assert.ok(ch, `no Vendure channel for ${list.name}`);
      const customer = seed.customers.find((c) => c.priceList === list.name);
      assert.ok(customer);
      const lines: { sku: string; quantity: number }[] = [
        { sku: plainSku, quantity: 2 },
        { sku: sizeSku, quantity: 3 },
      ];
      const levelsOf = async (): Promise<Map<string, Level[]>> => {
        const data = await admin<{ productVariants: { items: { sku: string; stockLevels: Level[] }[] } }>(
          "query($o:ProductVariantListOptions){productVariants(options:$o){items{sku stockLevels{stockOnHand stockAllocated stockLocation{name}}}}}",
          { o: { filter: { sku: { in: lines.map((l) => l.sku) } } } },
        );
        return new Map(data.productVariants.items.map((v) => [v.sku, v.stockLevels]));
      };
      const levelsBefore = await levelsOf();

      const placed = await placeShopOrder(shop, {
        channelToken: ch.token,
        email: customer.email,
        password: PASSWORD,
        firstName: list.name,
        lastName: "Customer",
        lines: lines.map((l) => ({ variantId: ids.get(l.sku) ?? "", quantity: l.quantity })),
      });

      const { order } = await admin<{
        order: {
          state: string;
          currencyCode: string;
          customer: { emailAddress: string; groups: { name: string }[] };
          lines: { quantity: number; unitPrice: number; productVariant: { sku: string } }[];
        };
      }>(
        "query($id:ID!){order(id:$id){state currencyCode customer{emailAddress groups{name}} lines{quantity unitPrice productVariant{sku}}}}",
        { id: placed.id },
        ch.token,
      );
      assert.equal(order.state, "PaymentSettled", placed.code);
      assert.equal(order.customer.emailAddress, customer.email);
      assert.deepEqual(
        order.customer.groups.map((g) => g.name),
        [code],
        "the customer is in the list's group",
      );
      for (const l of lines) {
        const line = order.lines.find((x) => x.productVariant.sku === l.sku);
        const inList = new Big((listPrice.get(l.sku) as Big).times(list.factor).toFixed(2));
        const expected = Number(inList.times(100).toFixed(0));
        assert.equal(line?.unitPrice, expected, `${list.name} price of ${l.sku}`);
        assert.equal(line?.quantity, l.quantity);
      }

      // Allocated from a warehouse Passerelle wrote Tryton's stock to, as much as was ordered.
      const afterwards = await levelsOf();
      for (const l of lines) {
        const was = levelsBefore.get(l.sku) ?? [];
        const now = afterwards.get(l.sku) ?? [];
        const allocated = now
          .map((x) => ({
            name: x.stockLocation.name,
            onHand: x.stockOnHand,
            qty:
              x.stockAllocated -
              (was.find((w) => w.stockLocation.name === x.stockLocation.name)?.stockAllocated ?? 0),
          }))
          .filter((x) => x.qty !== 0);
        assert.deepEqual(
          allocated.map((x) => [x.name, x.qty]),
          [[LOCATIONS.WH, l.quantity]],
          `${l.sku} in ${list.name}`,
        );
        const [wh] = await session.find("stock.location", [["code", "=", "WH"]], ["id"]);
        const [qty] = await session.find("product.product", [["code", "=", l.sku]], ["quantity"], {
          locations: [wh?.id],
        });
        assert.equal(allocated[0]?.onHand, Number(qty?.quantity), `${l.sku}: stock on hand is Tryton's`);
      }
    }
  });
});

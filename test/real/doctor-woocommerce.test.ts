/**
 * The WooCommerce connector's `permissions` (what `passerelle doctor` reports) against a real WooCommerce:
 * the shop's administrator holds every capability the flows need; a WordPress user with the Customer role
 * and an application password of its own is told which capabilities it lacks, as WordPress answers them
 * (wp/v2/users/me), and WooCommerce then refuses it the product create doctor named.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type StartedWoo, startWoo, wooAvailable } from "../../scripts/real/woocommerce.mjs";
import { WooCommerceConfig } from "../../src/connectors/woocommerce/config.ts";
import { createWooConnector } from "../../src/connectors/woocommerce/index.ts";
import type { EntityName } from "../../src/core/model.ts";

const available = wooAvailable();
const use = { reads: ["order", "customer"] as EntityName[], writes: ["product", "shipment"] as EntityName[] };

describe("doctor's permissions against a real WooCommerce", {
  skip: available.ok ? false : (available.missing ?? "WooCommerce missing"),
  timeout: 10 * 60_000,
}, () => {
  let shop: StartedWoo;
  const clerk = { username: "clerk", applicationPassword: "" };

  before(async () => {
    shop = await startWoo({ instance: "doctor", log: (m) => console.log(`# ${m}`) });
    const wp = async <T>(path: string, body: unknown): Promise<T> => {
      const res = await fetch(`${shop.url}/wp-json/wp/v2${path}`, {
        method: "POST",
        headers: { authorization: shop.basicAuth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.ok(res.ok, `POST ${path}: HTTP ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as T;
    };
    const user = await wp<{ id: number }>("/users", {
      username: clerk.username,
      email: "clerk@example.com",
      password: "clerk-pass-8431-long",
      roles: ["customer"],
    });
    const app = await wp<{ password: string }>(`/users/${user.id}/application-passwords`, {
      name: "passerelle",
    });
    clerk.applicationPassword = app.password;
  });
  after(async () => {
    await shop?.stop();
  });

  const connector = (username: string, applicationPassword: string) =>
    createWooConnector("shop", WooCommerceConfig.parse({ url: shop.url, username, applicationPassword }));

  test("the administrator holds every capability the flows need", async () => {
    const rights = (await connector(shop.username, shop.applicationPassword).permissions?.(use)) ?? [];
    assert.ok(rights.some((r) => r.right === "publish_products" && r.neededFor === "write product"));
    assert.deepEqual(
      rights.filter((r) => r.granted !== true).map((r) => r.right),
      [],
    );
  });

  test("a Customer is told what it lacks, and WooCommerce refuses it the product create", async () => {
    const c = connector(clerk.username, clerk.applicationPassword);
    await c.check().catch(() => {}); // system_status needs manage_woocommerce: a Customer is refused it
    const rights = (await c.permissions?.(use)) ?? [];
    const missing = rights.filter((r) => r.granted === false).map((r) => r.right);
    for (const cap of ["list_users", "read_private_shop_orders", "publish_products", "edit_shop_orders"])
      assert.ok(missing.includes(cap), `${cap} not reported missing: ${missing.join(", ")}`);
    assert.match(rights[0]?.how ?? "", /^the capabilities of WordPress user clerk \(wp\/v2\/users\/me\)$/);
    const res = await fetch(`${shop.url}/wp-json/wc/v3/products`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${clerk.username}:${clerk.applicationPassword}`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name: "Not allowed", regular_price: "1.00" }),
    });
    assert.equal(res.status, 403);
  });
});

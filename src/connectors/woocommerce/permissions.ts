/**
 * What the WooCommerce user may do, asked of WordPress: with an application password, the user's own
 * capabilities (`GET /wp-json/wp/v2/users/me?context=edit`, its `capabilities` map) against those
 * WooCommerce's REST controllers check for the calls the flows send (wc-rest-functions.php: a product or
 * order post type's `read_private_*`, `publish_*`, `edit_*`; `list_users` to list customers). A REST key
 * pair (consumer key) authenticates WooCommerce's own routes only, and no route tells a key its read/write
 * permission: its rights are then "unknown", with that reason.
 */
import { z } from "zod";
import type { EntityName } from "../../core/model.ts";
import { type ConnectionUse, neededRights, type RightCheck, unknownRights } from "../../ports/permissions.ts";
import type { WooClient } from "./client.ts";

const PRODUCT_WRITE = [
  "read_private_products",
  "publish_products",
  "edit_products",
  "edit_published_products",
  "edit_others_products",
];
const ORDER_WRITE = [
  "read_private_shop_orders",
  "edit_shop_orders",
  "edit_others_shop_orders",
  "publish_shop_orders",
];

/** The capabilities WooCommerce checks for the calls each entity's stream and writer send. */
export const WOO_RIGHTS: {
  read: Partial<Record<EntityName, readonly string[]>>;
  write: Partial<Record<EntityName, readonly string[]>>;
} = {
  read: { customer: ["list_users"], order: ["read_private_shop_orders"] },
  write: {
    // Products and their variations (a variations batch asks edit_others_products).
    product: PRODUCT_WRITE,
    price: ["read_private_products", "edit_products", "edit_published_products", "edit_others_products"],
    inventory: ["read_private_products", "edit_products", "edit_published_products", "edit_others_products"],
    // Orders are updated and given notes (a note is created: publish_shop_orders).
    order: ORDER_WRITE,
    shipment: ORDER_WRITE,
    invoice: ORDER_WRITE,
  },
};

const Me = z.object({ slug: z.string(), capabilities: z.record(z.string(), z.boolean()).optional() });

export async function wooPermissions(client: WooClient, use: ConnectionUse): Promise<RightCheck[]> {
  const rights = neededRights(use, WOO_RIGHTS);
  if (rights.size === 0) return [];
  if (client.config.consumerKey !== undefined) {
    return unknownRights(
      rights,
      "a REST key authenticates WooCommerce's routes only, and none tells a key its permission; connect with username + applicationPassword to have it checked",
    );
  }
  const url = `${client.config.url.replace(/\/+$/, "")}/wp-json/wp/v2/users/me?context=edit`;
  const me = await client.get(url, Me, "wp/v2/users/me");
  const caps = me.capabilities ?? {};
  return [...rights].map(([cap, needs]) => ({
    right: cap,
    neededFor: needs.join(", "),
    granted: caps[cap] === true,
    how: `the capabilities of WordPress user ${me.slug} (wp/v2/users/me)`,
    grant: `give the WordPress user ${me.slug} a role with the capability ${cap} (Shop manager and Administrator hold it)`,
  }));
}

/**
 * What the Vendure administrator may do, asked of Vendure: `me { channels { id code permissions } }` gives
 * the permissions of the user's roles on each channel, and the connection works in its active channel.
 * Each Admin API query and mutation the flows send is guarded by a list of permissions of which any one
 * suffices (Vendure's `@Allow`, e.g. `updateProductVariants`: UpdateCatalog or UpdateProduct); a right here
 * is such a list.
 */
import { z } from "zod";
import type { EntityName } from "../../core/model.ts";
import { type ConnectionUse, neededRights, type RightCheck } from "../../ports/permissions.ts";
import type { VendureClient } from "./client.ts";
import type { ChannelInfo } from "./lookup.ts";

const any = (...permissions: string[]) => permissions.join(" or ");
const READ_CATALOG = any("ReadCatalog", "ReadProduct");
const UPDATE_CATALOG = any("UpdateCatalog", "UpdateProduct");
const READ_CHANNEL = any("ReadSettings", "ReadChannel");

/** The permissions guarding the queries and mutations each entity's stream and writer send (streams/, writers/). */
export const VENDURE_RIGHTS: {
  read: Partial<Record<EntityName, readonly string[]>>;
  write: Partial<Record<EntityName, readonly string[]>>;
} = {
  read: {
    customer: ["ReadCustomer", "ReadOrder"],
    order: ["ReadOrder"],
    refund: ["ReadOrder", READ_CATALOG],
  },
  write: {
    customer: [
      "ReadCustomer",
      "CreateCustomer",
      "UpdateCustomer",
      any("ReadCustomer", "ReadCustomerGroup"),
      "CreateCustomerGroup",
      "UpdateCustomerGroup",
    ],
    order: ["ReadOrder", "UpdateOrder"],
    category: [
      any("ReadCatalog", "ReadCollection"),
      any("CreateCatalog", "CreateCollection"),
      any("UpdateCatalog", "UpdateCollection"),
      any("ReadCatalog", "ReadProduct", "ReadFacet"),
      any("CreateCatalog", "CreateFacet"),
      any("UpdateCatalog", "UpdateFacet"),
    ],
    product: [
      READ_CATALOG,
      any("CreateCatalog", "CreateProduct"),
      UPDATE_CATALOG,
      any("DeleteCatalog", "DeleteProduct"),
      any("ReadCatalog", "ReadProduct", "ReadFacet"),
      READ_CHANNEL,
    ],
    price: [READ_CATALOG, UPDATE_CATALOG, READ_CHANNEL],
    inventory: [READ_CATALOG, UPDATE_CATALOG, any("ReadCatalog", "ReadStockLocation")],
    shipment: ["ReadOrder", "UpdateOrder", READ_CATALOG],
    invoice: ["ReadOrder", "UpdateOrder"],
  },
};

const Me = z.object({
  me: z
    .object({
      identifier: z.string(),
      channels: z.array(z.object({ id: z.string(), code: z.string(), permissions: z.array(z.string()) })),
    })
    .nullable(),
});

export async function vendurePermissions(
  client: VendureClient,
  channel: () => Promise<ChannelInfo>,
  use: ConnectionUse,
  signal?: AbortSignal,
): Promise<RightCheck[]> {
  const rights = neededRights(use, VENDURE_RIGHTS);
  if (rights.size === 0) return [];
  const active = await channel();
  const { me } = await client.request(
    "query Permissions { me { identifier channels { id code permissions } } }",
    {},
    Me,
    { signal },
  );
  const held = new Set(me?.channels.find((c) => c.id === active.id)?.permissions ?? []);
  const how = `the permissions of ${me?.identifier ?? "the user"}'s roles on channel ${active.code} (me.channels)`;
  return [...rights].map(([right, needs]) => {
    const options = right.split(" or ");
    return {
      right,
      neededFor: needs.join(", "),
      granted: held.has("SuperAdmin") || options.some((p) => held.has(p)),
      how,
      grant: `give a role of the administrator ${me?.identifier ?? "(unknown)"} the permission ${options[0]} on channel ${active.code} (Settings > Roles)`,
    };
  });
}

/**
 * What the Medusa admin user may do. Medusa 2 keeps role-based access control behind its `rbac` feature
 * flag (off by default, MEDUSA_FF_RBAC); `GET /admin/feature-flags` says whether the server runs it. Off,
 * any admin user may call every admin route and there is no per-user right to check; on, the roles' policies
 * (`/admin/rbac/me/permissions`, a preview feature) are not mapped to the flows' calls here. Either way the
 * rights are "unknown", with the reason.
 */
import { z } from "zod";
import { ENTITIES } from "../../core/model.ts";
import { type ConnectionUse, neededRights, type RightCheck, unknownRights } from "../../ports/permissions.ts";
import type { MedusaClient } from "./client.ts";

const byEntity = (op: string) => Object.fromEntries(ENTITIES.map((e) => [e, [`${e}: ${op}`]]));

const Flags = z.object({ feature_flags: z.record(z.string(), z.unknown()) });

export async function medusaPermissions(client: MedusaClient, use: ConnectionUse): Promise<RightCheck[]> {
  const rights = neededRights(use, { read: byEntity("read"), write: byEntity("write") });
  if (rights.size === 0) return [];
  const { feature_flags: flags } = await client.get("/admin/feature-flags", Flags, "feature flags");
  return unknownRights(
    rights,
    flags.rbac === true
      ? "Medusa runs its role-based access control (feature flag rbac, a preview), whose policies Passerelle does not map to the flows' calls yet"
      : "Medusa's role-based access control is off (feature flag rbac, GET /admin/feature-flags): every admin user may call every admin route",
  );
}

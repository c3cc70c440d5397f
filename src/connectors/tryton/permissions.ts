/**
 * What the Tryton user may do, asked of Tryton: `model.ir.model.access.get_access(models)` answers, for the
 * logged-in user, the read, write, create and delete access its groups give on each model (a model no
 * access record restricts is open to all). Buttons (confirm, post, cancel) have their own rules
 * (ir.model.button), which this answer does not cover.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import { type ConnectionUse, neededRights, type RightCheck } from "../../ports/permissions.ts";
import type { TrytonClient } from "./client.ts";

type Op = "read" | "write" | "create" | "delete";
const right = (model: string, op: Op) => `${model}: ${op}`;
const reads = (...models: string[]) => models.map((m) => right(m, "read"));

/** The models (and operations) each entity's stream and writer call (streams/, writers/). */
export const TRYTON_RIGHTS: {
  read: Partial<Record<EntityName, readonly string[]>>;
  write: Partial<Record<EntityName, readonly string[]>>;
} = {
  read: {
    category: reads("product.category", "ir.lang"),
    product: reads("product.template", "product.product", "product.category"),
    price: reads("product.price_list", "product.price_list.line", "product.product"),
    inventory: reads("product.product", "stock.location", "stock.move"),
    customer: reads("party.party", "party.address", "party.contact_mechanism", "product.price_list"),
    order: reads("sale.sale", "sale.line", "party.party", "stock.move"),
    shipment: reads("stock.shipment.out", "stock.move", "sale.sale"),
    invoice: reads("account.invoice", "sale.sale", "party.party"),
  },
  write: {
    customer: [
      ...reads(
        "party.party",
        "party.address",
        "party.contact_mechanism",
        "country.country",
        "product.price_list",
      ),
      right("party.party", "create"),
      right("party.party", "write"),
      right("party.address", "create"),
      right("party.contact_mechanism", "create"),
    ],
    // A sale is created with its lines, its party found or created; a shop cancellation also cancels the
    // sale's shipments and draft invoices.
    order: [
      ...reads(
        "sale.sale",
        "party.party",
        "party.address",
        "product.product",
        "account.tax",
        "currency.currency",
      ),
      ...reads("stock.location", "stock.shipment.out", "account.invoice"),
      right("sale.sale", "create"),
      right("sale.sale", "write"),
      right("sale.line", "create"),
      right("party.party", "create"),
      right("party.address", "create"),
    ],
    refund: [
      ...reads("account.invoice", "sale.sale", "account.tax"),
      right("account.invoice", "create"),
      right("account.invoice", "write"),
      right("account.invoice.line", "create"),
    ],
  },
};

const Access = z.record(z.string(), z.record(z.string(), z.union([z.boolean(), z.number()])));

export async function trytonPermissions(
  client: TrytonClient,
  connection: string,
  use: ConnectionUse,
  signal?: AbortSignal,
): Promise<RightCheck[]> {
  const rights = neededRights(use, TRYTON_RIGHTS);
  if (rights.size === 0) return [];
  const models = [...new Set([...rights.keys()].map((r) => r.split(": ")[0]!))];
  const parsed = Access.safeParse(
    await client.model("ir.model.access", "get_access", [models], {
      what: "ir.model.access.get_access",
      signal,
    }),
  );
  if (!parsed.success) {
    throw new SyncError("permanent", "Tryton answered ir.model.access.get_access with no access per model", {
      system: connection,
    });
  }
  const answer = parsed.data;
  return [...rights].map(([name, needs]) => {
    const [model, op] = name.split(": ") as [string, Op];
    const granted = answer[model]?.[op];
    return {
      right: name,
      neededFor: needs.join(", "),
      granted: granted === undefined ? "unknown" : Boolean(granted),
      how:
        granted === undefined
          ? `ir.model.access.get_access did not answer for ${model}`
          : "ir.model.access.get_access (the model access of the user's groups; buttons and record rules not checked)",
      grant: `add the Tryton user of connections.${connection} to a group with ${op} access to ${model} (Administration > Models > Models Access)`,
    };
  });
}

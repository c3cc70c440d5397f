/**
 * What the Odoo user may do, asked of Odoo: `check_access_rights(operation, raise_exception=False)` on each
 * model the flows' streams and writers call, which answers from the model access rights (ir.model.access)
 * of the user's groups. Record rules (which records of a model a user sees) are not part of that answer.
 */

import { SyncError } from "../../core/errors.ts";
import type { EntityName } from "../../core/model.ts";
import { type ConnectionUse, neededRights, type RightCheck } from "../../ports/permissions.ts";
import type { OdooClient } from "./client.ts";

type Op = "read" | "write" | "create" | "unlink";
const right = (model: string, op: Op) => `${model}: ${op}`;
const reads = (...models: string[]) => models.map((m) => right(m, "read"));

/** The models (and operations) each entity's stream and writer call (streams/, writers/). */
export const ODOO_RIGHTS: {
  read: Partial<Record<EntityName, readonly string[]>>;
  write: Partial<Record<EntityName, readonly string[]>>;
} = {
  read: {
    category: reads("product.category"),
    product: reads(
      "product.product",
      "product.template",
      "product.template.attribute.value",
      // Kits (module mrp; without it these are not read, and Odoo cannot answer for them).
      "mrp.bom",
      "mrp.bom.line",
    ),
    price: reads("product.pricelist", "product.pricelist.item", "product.product", "res.currency"),
    inventory: reads(
      "product.product",
      "stock.quant",
      "stock.location",
      "stock.warehouse",
      "product.supplierinfo",
      "mrp.bom",
      "mrp.bom.line",
    ),
    customer: reads("res.partner", "res.country"),
    order: reads(
      "sale.order",
      "sale.order.line",
      "res.partner",
      "res.country",
      "product.product",
      "account.tax",
      "account.move",
      "stock.picking",
    ),
    shipment: reads("stock.picking", "stock.move", "sale.order", "product.product"),
    invoice: reads("account.move", "sale.order", "res.partner"),
  },
  write: {
    customer: [
      ...reads("res.partner", "res.country", "product.pricelist"),
      right("res.partner", "create"),
      right("res.partner", "write"),
    ],
    // A sale is created with its lines (one2many commands: the lines' create right is checked too), its
    // customer found or created, then confirmed or cancelled (write).
    order: [
      ...reads("sale.order", "res.partner", "res.country", "product.product", "account.tax"),
      right("sale.order", "create"),
      right("sale.order", "write"),
      right("sale.order.line", "create"),
      right("res.partner", "create"),
    ],
    // A credit note is created with its lines (account.move.line create checked too), then rewritten while
    // a draft (write) and posted (action_post writes the move).
    refund: [
      ...reads("account.move", "account.move.line", "account.tax", "sale.order"),
      right("account.move", "create"),
      right("account.move", "write"),
      right("account.move.line", "create"),
    ],
  },
};

const HOW = "check_access_rights (the model access rights of the user's groups; record rules not checked)";

export async function odooPermissions(
  client: OdooClient,
  connection: string,
  use: ConnectionUse,
  signal?: AbortSignal,
): Promise<RightCheck[]> {
  const out: RightCheck[] = [];
  for (const [name, needs] of neededRights(use, ODOO_RIGHTS)) {
    const [model, op] = name.split(": ") as [string, Op];
    const grant = `give the Odoo user of connections.${connection} a group whose access rights allow ${op} on ${model} (Settings > Users & Companies > Groups > Access Rights)`;
    try {
      const ok = await client.execute(model, "check_access_rights", [op], { raise_exception: false }, signal);
      out.push({ right: name, neededFor: needs.join(", "), granted: ok === true, how: HOW, grant });
    } catch (e) {
      // A model the database does not have (its module not installed): Odoo cannot say; the flows will fail.
      if (!(e instanceof SyncError) || e.kind === "retryable") throw e;
      out.push({
        right: name,
        neededFor: needs.join(", "),
        granted: "unknown",
        how: `Odoo refused check_access_rights on ${model}: ${e.message}`,
      });
    }
  }
  return out;
}

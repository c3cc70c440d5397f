import type { ListRequest } from "../../ports/connector.ts";
import type { Domain, OdooClient, OdooRow } from "./client.ts";
import { isoToOdoo } from "./time.ts";

/**
 * Pages through a model in (write_date, id) order with a keyset: each page starts strictly after the last
 * record of the previous one. Never offset paging: a record written while we page moves to the end of the
 * order, which shifts every later offset by one and silently skips a record. Odoo's write_date has second
 * precision, so hundreds of records can share one timestamp; the id breaks those ties.
 */
export async function* keysetPages(
  client: OdooClient,
  model: string,
  base: Domain,
  fields: string[],
  req: ListRequest,
): AsyncGenerator<OdooRow[]> {
  const sinceId = req.since ? Number(req.since.id) : Number.NaN;
  let after: { at: string; id: number } | null = null;
  let first: Domain = [];
  if (req.since && Number.isInteger(sinceId)) after = { at: isoToOdoo(req.since.updatedAt), id: sinceId };
  else if (req.since) first = [["write_date", ">=", isoToOdoo(req.since.updatedAt)]];
  const wanted = fields.includes("write_date") ? fields : [...fields, "write_date"];
  for (;;) {
    const keyset: Domain = after
      ? ["|", ["write_date", ">", after.at], "&", ["write_date", "=", after.at], ["id", ">", after.id]]
      : first;
    const rows = await client.searchRead(model, [...base, ...keyset], wanted, {
      limit: req.pageSize,
      order: "write_date asc, id asc",
      signal: req.signal,
    });
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < req.pageSize) return;
    const last = rows[rows.length - 1] as OdooRow;
    const at = last.write_date;
    if (typeof at !== "string") return;
    after = { at, id: last.id };
  }
}

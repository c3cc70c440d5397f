import type { ListRequest } from "../../ports/connector.ts";
import type { Domain, OdooClient, OdooRow } from "./client.ts";
import { isoToOdoo } from "./time.ts";

/** The Odoo datetime one second after `at` ("2024-05-01 09:30:00" → "2024-05-01 09:30:01"). */
export function nextSecond(at: string): string {
  const ms = Date.parse(`${at.replace(" ", "T")}Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not an Odoo datetime: ${JSON.stringify(at)}`);
  return isoToOdoo(new Date(ms + 1000).toISOString());
}

/** Rows whose write_date falls in the second `at` (whatever fraction of it the database keeps). */
export function inSecond(at: string): Domain {
  return [
    ["write_date", ">=", at],
    ["write_date", "<", nextSecond(at)],
  ];
}

const byWriteThenId = (a: OdooRow, b: OdooRow) => {
  const x = String(a.write_date);
  const y = String(b.write_date);
  return x < y ? -1 : x > y ? 1 : a.id - b.id;
};

/**
 * Pages of a model's rows in (write_date second, id) order, `pageSize` at most per page, starting at
 * `from.at` (inclusive) or, when `from.within` is given, at the rows of the second `from.at` that match it
 * (e.g. `[["id", ">", 41]]`) and everything after that second.
 *
 * Odoo reads write_date to the second but PostgreSQL stores it to the microsecond, and orders by what it
 * stores: within one second, rows come in microsecond order, not id order, and `write_date = "…:30"`
 * matches none of them. So a second is read as a range [T, T+1 s), the rows of the second a page stops in
 * are read again by id (the only stable order within it), and a page never ends in the middle of a second
 * unless that second alone fills it.
 */
export async function* secondPages(
  client: OdooClient,
  model: string,
  base: Domain,
  fields: string[],
  opts: { from?: { at: string; within?: Domain } | null; pageSize: number; signal?: AbortSignal },
): AsyncGenerator<OdooRow[]> {
  const { pageSize: limit, signal } = opts;
  const wanted = fields.includes("write_date") ? fields : [...fields, "write_date"];
  /** The second being read by id, the filter of its first read and the last id read. */
  let current: { at: string; within: Domain; lastId: number | null } | null = null;
  let lowerBound: string | null = null;
  if (opts.from?.within) {
    current = { at: opts.from.at, within: opts.from.within, lastId: null };
    lowerBound = nextSecond(opts.from.at);
  } else if (opts.from) lowerBound = opts.from.at;
  for (;;) {
    let page: OdooRow[] = [];
    if (current) {
      const rows = await client.searchRead(
        model,
        [
          ...base,
          ...inSecond(current.at),
          ...current.within,
          ...(current.lastId === null ? [] : [["id", ">", current.lastId]]),
        ],
        wanted,
        { limit, order: "id asc", signal },
      );
      if (rows.length === limit) {
        current.lastId = (rows[rows.length - 1] as OdooRow).id;
        yield rows;
        continue;
      }
      current = null;
      page = rows;
    }
    const room = limit - page.length;
    const rows = await client.searchRead(
      model,
      [...base, ...(lowerBound === null ? [] : [["write_date", ">=", lowerBound]])],
      wanted,
      { limit: room, order: "write_date asc, id asc", signal },
    );
    if (rows.length < room) {
      page.push(...rows);
      if (page.length > 0) yield page.sort(byWriteThenId);
      return;
    }
    // A full page: its last second may go on beyond it. The seconds before are complete.
    const last = String((rows[rows.length - 1] as OdooRow).write_date);
    page.push(...rows.filter((r) => String(r.write_date) !== last));
    current = { at: last, within: [], lastId: null };
    lowerBound = nextSecond(last);
    if (page.length > 0) yield page.sort(byWriteThenId);
  }
}

/**
 * Pages through a model in (write_date, id) order with a keyset: each page starts strictly after the last
 * record of the previous one. Never offset paging: a record written while we page moves to the end of the
 * order, which shifts every later offset by one and silently skips a record. Odoo's write_date has second
 * precision, so hundreds of records can share one timestamp; the id breaks those ties (see secondPages).
 */
export function keysetPages(
  client: OdooClient,
  model: string,
  base: Domain,
  fields: string[],
  req: ListRequest,
): AsyncGenerator<OdooRow[]> {
  const sinceId = req.since ? Number(req.since.id) : Number.NaN;
  const from = req.since
    ? {
        at: isoToOdoo(req.since.updatedAt),
        within: Number.isInteger(sinceId) ? [["id", ">", sinceId]] : undefined,
      }
    : null;
  return secondPages(client, model, base, fields, { from, pageSize: req.pageSize, signal: req.signal });
}

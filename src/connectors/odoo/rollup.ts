/**
 * Incremental reads of records that Odoo stores as a parent and its children (a template and its variants,
 * a base price-list item and its tier items, a customer and its addresses). Editing only a child does not
 * move the parent's write_date in Odoo, so a read filtered on the parent's write_date misses that change.
 *
 * Here a record's updatedAt is the latest write_date of the parent and of all its children ("changedAt"),
 * and the stream is ordered by (changedAt, parent id). Each model involved is scanned with its own keyset on
 * (write_date, id); every row scanned is an event "this parent changed at write_date". A parent's changedAt
 * is, by definition, the time of its latest event, so:
 *
 * - The scans are merged one timestamp at a time: all events at second T, from every scan, are taken before
 *   anything at T is emitted, because events share no id order (variant ids are not template ids). Within
 *   T, parents go out in id order, which is the stream's order.
 * - A parent is emitted at its latest event only. At an earlier event its loaded changedAt is later than the
 *   event, and it is skipped: the scan will reach its latest event, since every child counted in changedAt
 *   is a row one of the scans reads (the scans' domains and the loader's child queries must match).
 * - Resuming from a cursor (C, id): the scans restart at write_date >= C, so every event at C is seen again
 *   and the parents at C with an id <= the cursor's are dropped; nothing at C is missed whatever the ids.
 * - A parent changed while we read gets a later event that the scan meets again: it comes out once more,
 *   later in the order, which is correct (it did change again). A parent whose loaded changedAt is earlier
 *   than its latest event (a child deleted or moved in between) is emitted at that event, stamped with it,
 *   so the order stays strictly ascending.
 *
 * What this cannot see: a child deleted (unlink leaves no row to scan) or moved to another parent (only the
 * new parent hears of it). A full resync catches those.
 *
 * Loading is batched across timestamps (one load per pageSize parents, not per second), so a catalogue whose
 * write_dates are all different costs a few calls per page, like a plain keyset read.
 */
import { compareCursors } from "../../core/cursor.ts";
import type { ListRequest } from "../../ports/connector.ts";
import type { Domain, OdooClient, OdooRow } from "./client.ts";
import { isoToOdoo, odooToIso } from "./time.ts";

/** One model whose changes make a parent record change. */
export interface ChangeSource {
  model: string;
  domain: Domain;
  /** Fields `parentsOf` needs. */
  fields: string[];
  /** The ids of the parents these changed rows belong to. */
  parentsOf(rows: OdooRow[], signal?: AbortSignal): Promise<number[]> | number[];
}

export interface Rolled {
  /** Latest write_date of the parent and its children, Odoo format ("2024-05-01 09:30:00"). */
  changedAt: string;
}

export interface RollupSpec<N extends Rolled> {
  sources: ChangeSource[];
  /** The parents with these ids that the stream reports, with their children and changedAt; any order. */
  load(ids: number[], signal?: AbortSignal): Promise<N[]>;
  parentIdOf(native: N): number;
}

/** The latest of a row's own write_date and its children's. */
export function latestWrite(rows: OdooRow[]): string {
  let latest = "";
  for (const r of rows) {
    const at = r.write_date;
    if (typeof at === "string" && at > latest) latest = at;
  }
  return latest;
}

/** A keyset scan of one model in (write_date, id) order, read a page at a time. */
class ChangeScan {
  private rows: OdooRow[] = [];
  private pos = 0;
  private after: { at: string; id: number } | null = null;
  private exhausted = false;

  constructor(
    private readonly client: OdooClient,
    private readonly source: ChangeSource,
    private readonly from: string | null,
    private readonly pageSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private async fetch(): Promise<void> {
    const keyset: Domain = this.after
      ? [
          "|",
          ["write_date", ">", this.after.at],
          "&",
          ["write_date", "=", this.after.at],
          ["id", ">", this.after.id],
        ]
      : this.from
        ? [["write_date", ">=", this.from]]
        : [];
    const page = await this.client.searchRead(
      this.source.model,
      [...this.source.domain, ...keyset],
      [...this.source.fields, "write_date"],
      { limit: this.pageSize, order: "write_date asc, id asc", signal: this.signal },
    );
    const last = page[page.length - 1];
    if (page.length < this.pageSize || typeof last?.write_date !== "string") this.exhausted = true;
    if (last && typeof last.write_date === "string") this.after = { at: last.write_date, id: last.id };
    this.rows = [...this.rows.slice(this.pos), ...page.filter((r) => typeof r.write_date === "string")];
    this.pos = 0;
  }

  /** write_date of the next unread row, or undefined at the end. */
  async head(): Promise<string | undefined> {
    while (this.pos >= this.rows.length && !this.exhausted) await this.fetch();
    const next = this.rows[this.pos];
    return next ? String(next.write_date) : undefined;
  }

  /** Every row written at `at` (which must be the head), reading further pages while they continue. */
  async take(at: string): Promise<OdooRow[]> {
    const out: OdooRow[] = [];
    for (;;) {
      while (this.pos < this.rows.length && this.rows[this.pos]?.write_date === at) {
        out.push(this.rows[this.pos] as OdooRow);
        this.pos++;
      }
      if (this.pos < this.rows.length || this.exhausted) return out;
      await this.fetch();
    }
  }
}

/** Pages of parents in ascending (changedAt, id) order, strictly after `req.since` when given. */
export async function* rollupPages<N extends Rolled>(
  client: OdooClient,
  spec: RollupSpec<N>,
  req: ListRequest,
): AsyncGenerator<N[]> {
  const from = req.since ? isoToOdoo(req.since.updatedAt) : null;
  const scans = spec.sources.map((s) => new ChangeScan(client, s, from, req.pageSize, req.signal));
  const since = req.since;
  const afterCursor = (at: string, id: number) =>
    !since || compareCursors({ updatedAt: odooToIso(at), id: String(id) }, since) > 0;
  /** Parent id → its latest event seen in the pending batch. */
  let pending = new Map<number, string>();
  let out: N[] = [];

  const flush = async function* (): AsyncGenerator<N[]> {
    const ids = [...pending.keys()].sort((a, b) => a - b);
    const batch = pending;
    pending = new Map();
    const ready: N[] = [];
    for (let i = 0; i < ids.length; i += req.pageSize) {
      for (const n of await spec.load(ids.slice(i, i + req.pageSize), req.signal)) {
        const id = spec.parentIdOf(n);
        const at = batch.get(id);
        // Later than its latest event in this batch: a later event exists and will emit it.
        if (at === undefined || n.changedAt > at || !afterCursor(at, id)) continue;
        ready.push(n.changedAt === at ? n : { ...n, changedAt: at });
      }
    }
    ready.sort((a, b) =>
      a.changedAt < b.changedAt
        ? -1
        : a.changedAt > b.changedAt
          ? 1
          : spec.parentIdOf(a) - spec.parentIdOf(b),
    );
    out.push(...ready);
    while (out.length >= req.pageSize) yield out.splice(0, req.pageSize);
  };

  for (;;) {
    const heads = (await Promise.all(scans.map((s) => s.head()))).filter((h): h is string => h !== undefined);
    // Odoo datetimes sort as strings.
    const at = heads.sort()[0];
    if (at === undefined) break;
    for (const [i, scan] of scans.entries()) {
      const rows = await scan.take(at);
      if (rows.length === 0) continue;
      const source = spec.sources[i] as ChangeSource;
      for (const id of await source.parentsOf(rows, req.signal)) pending.set(id, at);
    }
    if (pending.size >= req.pageSize) yield* flush();
  }
  if (pending.size > 0) yield* flush();
  if (out.length > 0) yield out;
  out = [];
}

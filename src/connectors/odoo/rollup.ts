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
 *   T, parents go out in id order, which is the stream's order. Only the parents' ids are kept while T is
 *   read (the scanned rows are dropped page by page), and the parents are then loaded and emitted a page at
 *   a time, so a second holding a whole imported catalogue costs a few bytes per parent, not its records.
 * - A parent is emitted at its latest event only. At an earlier event its loaded changedAt is later than the
 *   event, and it is skipped: the scan will reach its latest event, since every child counted in changedAt
 *   is a row one of the scans reads (the scans' domains and the loader's child queries must match).
 * - Resuming from a cursor (C, id): the scans restart at write_date >= C and the parents at C with an id <=
 *   the cursor's are dropped; nothing at C is missed whatever the ids. A source that names the field holding
 *   its rows' parent id (`parentField`) skips, within C, the rows whose parent is at or before the cursor,
 *   so resuming in the middle of a large second does not read that second again.
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
import { includesSorted } from "../../core/sorted.ts";
import type { ListRequest } from "../../ports/connector.ts";
import type { Domain, OdooClient, OdooRow } from "./client.ts";
import { secondPages } from "./paging.ts";
import { isoToOdoo, odooToIso } from "./time.ts";

/** One model whose changes make a parent record change. */
export interface ChangeSource {
  model: string;
  domain: Domain;
  /** Fields `parentsOf` needs. */
  fields: string[];
  /** The ids of the parents these changed rows belong to. */
  parentsOf(rows: OdooRow[], signal?: AbortSignal): Promise<number[]> | number[];
  /**
   * The field holding the parent's id ("id" for the parent model itself, a many2one for a child), when
   * there is one: a resumed scan then skips the cursor second's rows whose parent is at or before the
   * cursor.
   */
  parentField?: string;
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

/** Rows per change-scan page (at least the stream's page size). */
const SCAN_PAGE = 500;

/** Where a scan starts: at `at`, skipping that second's rows whose parent id is <= `parent` when known. */
interface ScanStart {
  at: string;
  parent: number | null;
}

/** A keyset scan of one model in (write_date, id) order, read a page at a time (see paging.ts). */
class ChangeScan {
  private rows: OdooRow[] = [];
  private pos = 0;
  private exhausted = false;
  private readonly pages: AsyncGenerator<OdooRow[]>;

  constructor(
    client: OdooClient,
    source: ChangeSource,
    start: ScanStart | null,
    pageSize: number,
    signal: AbortSignal | undefined,
  ) {
    const field = source.parentField;
    const from = !start
      ? null
      : start.parent === null || field === undefined
        ? { at: start.at }
        : { at: start.at, within: [[field, ">", start.parent]] };
    this.pages = secondPages(client, source.model, source.domain, source.fields, { from, pageSize, signal });
  }

  private async fetch(): Promise<void> {
    const next = await this.pages.next();
    if (next.done) {
      this.exhausted = true;
      return;
    }
    this.rows = [...this.rows.slice(this.pos), ...next.value.filter((r) => typeof r.write_date === "string")];
    this.pos = 0;
  }

  /** write_date of the next unread row, or undefined at the end. */
  async head(): Promise<string | undefined> {
    while (this.pos >= this.rows.length && !this.exhausted) await this.fetch();
    const next = this.rows[this.pos];
    return next ? String(next.write_date) : undefined;
  }

  /** The rows written at `at` (which must be the head), a page at a time, reading further pages as needed. */
  async *take(at: string): AsyncGenerator<OdooRow[]> {
    for (;;) {
      const from = this.pos;
      while (this.pos < this.rows.length && this.rows[this.pos]?.write_date === at) this.pos++;
      if (this.pos > from) yield this.rows.slice(from, this.pos);
      if (this.pos < this.rows.length || this.exhausted) return;
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
  const since = req.since;
  const sinceId = since ? Number(since.id) : Number.NaN;
  const start: ScanStart | null = since
    ? { at: isoToOdoo(since.updatedAt), parent: Number.isInteger(sinceId) ? sinceId : null }
    : null;
  // Scans read a few small fields per row, so they page in larger steps than the records they lead to.
  const scanPage = Math.max(req.pageSize, SCAN_PAGE);
  const scans = spec.sources.map((s) => new ChangeScan(client, s, start, scanPage, req.signal));
  const afterCursor = (at: string, id: number) =>
    !since || compareCursors({ updatedAt: odooToIso(at), id: String(id) }, since) > 0;
  /**
   * The pending batch: parent ids grouped by the second of their latest event, seconds ascending, ids
   * ascending and each id in one group only. Plain id arrays: a second holding a whole imported catalogue
   * (every price-list item) costs 8 bytes per parent while it is read.
   */
  let pending: { at: string; ids: number[] }[] = [];
  let pendingSize = 0;
  const out: N[] = [];

  // Loads the pending parents in (event, id) order, a page at a time, so what is loaded goes out in order.
  const flush = async function* (): AsyncGenerator<N[]> {
    const groups = pending;
    pending = [];
    pendingSize = 0;
    for (const chunk of chunksOf(groups, req.pageSize)) {
      const ready: N[] = [];
      for (const n of await spec.load([...chunk.keys()], req.signal)) {
        const id = spec.parentIdOf(n);
        const at = chunk.get(id);
        // Later than its latest event in this batch: a later event exists and will emit it.
        if (at === undefined || n.changedAt > at || !afterCursor(at, id)) continue;
        ready.push(n.changedAt === at ? n : { ...n, changedAt: at });
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
    }
  };

  for (;;) {
    const heads = (await Promise.all(scans.map((s) => s.head()))).filter((h): h is string => h !== undefined);
    // Odoo datetimes sort as strings.
    const at = heads.sort()[0];
    if (at === undefined) break;
    const ids: number[] = [];
    for (const [i, scan] of scans.entries()) {
      const source = spec.sources[i] as ChangeSource;
      for await (const rows of scan.take(at)) {
        // A parent at the cursor's second with an id at or before the cursor's was emitted already: it is
        // dropped here, before it costs a load.
        for (const id of await source.parentsOf(rows, req.signal)) if (afterCursor(at, id)) ids.push(id);
      }
    }
    if (ids.length > 0) {
      const group = ascendingUnique(ids);
      // A parent's latest event is now `at`: it leaves the earlier groups (fewer than a page in all).
      for (const g of pending) g.ids = g.ids.filter((id) => !includesSorted(group, id));
      pending = pending.filter((g) => g.ids.length > 0);
      pending.push({ at, ids: group });
      pendingSize = pending.reduce((n, g) => n + g.ids.length, 0);
    }
    if (pendingSize >= req.pageSize) yield* flush();
  }
  if (pendingSize > 0) yield* flush();
  if (out.length > 0) yield out.splice(0);
}

/** `ids` sorted ascending without repeats (sorts in place). */
function ascendingUnique(ids: number[]): number[] {
  ids.sort((a, b) => a - b);
  let n = 0;
  for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[i - 1]) ids[n++] = ids[i] as number;
  ids.length = n;
  return ids;
}

/** The groups' (id → second) pairs in order, `size` at a time. */
function* chunksOf(groups: { at: string; ids: number[] }[], size: number): Generator<Map<number, string>> {
  let chunk = new Map<number, string>();
  for (const g of groups) {
    for (const id of g.ids) {
      chunk.set(id, g.at);
      if (chunk.size >= size) {
        yield chunk;
        chunk = new Map();
      }
    }
  }
  if (chunk.size > 0) yield chunk;
}

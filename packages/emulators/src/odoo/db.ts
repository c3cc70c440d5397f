/**
 * The emulator's in-memory ORM: models with typed fields, records, Odoo's CRUD semantics (x2many
 * commands, many2one as `[id, display_name]` on read, `false` for empty values) and domain search.
 */
import { idBound } from "../util.ts";
import { type DomainNode, matchValue, parseDomain } from "./domain.ts";
import { missingError, OdooException, validationError, valueError } from "./errors.ts";

export type Row = Record<string, unknown> & { id: number };
export type FieldType =
  | "char"
  | "text"
  | "selection"
  | "datetime"
  | "date"
  | "float"
  | "integer"
  | "boolean"
  | "many2one"
  | "one2many"
  | "many2many";

export interface FieldDef {
  type: FieldType;
  relation?: string;
  /** For one2many: the many2one on `relation` pointing back. */
  inverse?: string;
  required?: boolean;
  default?: (db: OdooDb, vals: Record<string, unknown>) => unknown;
  /** A many2one read when nothing is stored (a company-dependent field's default). */
  fallback?: (db: OdooDb, row: Row) => number | false;
  /** Computed at read time; not writable, not stored. */
  compute?: (db: OdooDb, row: Row) => unknown;
}

export interface ModelDef {
  fields: Record<string, FieldDef>;
  /** Default `order` of search. */
  order?: string;
  displayName?: (db: OdooDb, row: Row) => string;
  /** Stored computed fields and side effects after create/write (use `db.setRaw`, not `write`). */
  afterWrite?: (db: OdooDb, ids: number[]) => void;
  beforeUnlink?: (db: OdooDb, rows: Row[]) => void;
  afterUnlink?: (db: OdooDb, rows: Row[]) => void;
}

export type ModelMethod = (db: OdooDb, ids: number[], kwargs: Record<string, unknown>) => unknown;
/** What a model's create does through the external API beyond storing the values (Odoo's overridden create). */
export type ModelCreate = (
  db: OdooDb,
  valsList: Record<string, unknown>[],
  context: Record<string, unknown>,
) => number[];

const AUTO_FIELDS: Record<string, FieldDef> = {
  id: { type: "integer" },
  create_date: { type: "datetime" },
  write_date: { type: "datetime" },
  display_name: { type: "char" },
};

const EMPTY: Record<FieldType, unknown> = {
  char: false,
  text: false,
  selection: false,
  datetime: false,
  date: false,
  float: 0,
  integer: 0,
  boolean: false,
  many2one: false,
  one2many: [],
  many2many: [],
};

/** Odoo's datetime format, UTC, second precision: "2024-05-01 09:30:00". */
export function odooDatetime(d: Date): string {
  return d.toISOString().slice(0, 19).replace("T", " ");
}

export class OdooDb {
  readonly models = new Map<string, ModelDef>();
  readonly methods = new Map<string, Map<string, ModelMethod>>();
  readonly creators = new Map<string, ModelCreate>();
  /** Company settings the models' create reads: the default sale taxes of a new product. */
  readonly settings: { saleTaxes?: number[] } = {};
  private readonly tables = new Map<string, Map<number, Row>>();
  private readonly nextIds = new Map<string, number>();
  private readonly sequences = new Map<string, number>();
  private frozenNow: string | null = null;
  private txnStamp: string | null = null;
  private lastStamp = "";
  // Search indexes, built on a model's (or field's) first indexed search and from then on kept up to date
  // by every change to a row (create, write, setRaw and unlink go through `assign`, `indexRow` and
  // `unindexRow`), so a change costs a binary search and a splice, never a rebuild.
  /** Rows in (write_date, id) order, the order incremental readers page in. */
  private readonly byWriteDate = new Map<string, Row[]>();
  /** model → many2one field → value → ids (ascending) of the rows holding it. */
  private readonly byMany2one = new Map<string, Map<string, Map<number, number[]>>>();

  /** The server clock; `freeze` pins it so tests can give many records the same write_date. */
  now(): string {
    return this.frozenNow ?? odooDatetime(new Date());
  }

  /**
   * The create_date/write_date of a change: like PostgreSQL's, to the microsecond and the same for every
   * change of one transaction (one external API call, see `transaction`), while a read shows the second
   * only. So records written in one second are ordered by when they were written, not by id, and a domain
   * `write_date > '… 10:00:00'` takes the records written at 10:00:00.4. A frozen clock gives its value.
   */
  stamp(): string {
    if (this.frozenNow) return this.frozenNow;
    if (this.txnStamp) return this.txnStamp;
    const now = new Date();
    let next = `${odooDatetime(now)}.${String(now.getUTCMilliseconds() * 1000).padStart(6, "0")}`;
    if (next <= this.lastStamp) {
      const micro = Number(this.lastStamp.slice(20)) + 1;
      next =
        micro > 999_999 ? this.lastStamp : `${this.lastStamp.slice(0, 20)}${String(micro).padStart(6, "0")}`;
    }
    this.lastStamp = next;
    return next;
  }

  /** Runs `fn` as one transaction: every change in it gets the same write_date. */
  transaction<T>(fn: () => T): T {
    if (this.txnStamp) return fn();
    this.txnStamp = this.stamp();
    try {
      return fn();
    } finally {
      this.txnStamp = null;
    }
  }
  freeze(at: string | null): void {
    this.frozenNow = at;
  }

  define(name: string, def: ModelDef): void {
    this.models.set(name, { ...def, fields: { ...AUTO_FIELDS, ...def.fields } });
    this.tables.set(name, new Map());
    this.nextIds.set(name, 1);
  }

  defineMethod(model: string, name: string, fn: ModelMethod): void {
    let m = this.methods.get(model);
    if (!m) {
      m = new Map();
      this.methods.set(model, m);
    }
    m.set(name, fn);
  }

  defineCreate(model: string, fn: ModelCreate): void {
    this.creators.set(model, fn);
  }

  nextSequence(key: string): number {
    const n = (this.sequences.get(key) ?? 0) + 1;
    this.sequences.set(key, n);
    return n;
  }

  model(name: string): ModelDef {
    const m = this.models.get(name);
    if (!m) throw new OdooException("builtins.KeyError", name);
    return m;
  }

  /** The model's rows sorted by (write_date, id), rows without a write_date last (as PostgreSQL sorts). */
  private writeDateIndex(model: string): Row[] {
    let rows = this.byWriteDate.get(model);
    if (!rows) {
      rows = this.rows(model);
      rows.sort(compareRows);
      this.byWriteDate.set(model, rows);
    }
    return rows;
  }

  /** The many2one index of `model.field`: value → ids (ascending). */
  private many2oneIndex(model: string, field: string): Map<number, number[]> {
    let fields = this.byMany2one.get(model);
    if (!fields) {
      fields = new Map();
      this.byMany2one.set(model, fields);
    }
    let ids = fields.get(field);
    if (!ids) {
      ids = new Map();
      // Rows are kept in id order, so every list comes out ascending.
      for (const r of this.table(model).values()) {
        const v = r[field];
        if (typeof v !== "number") continue;
        const list = ids.get(v);
        if (list) list.push(r.id);
        else ids.set(v, [r.id]);
      }
      fields.set(field, ids);
    }
    return ids;
  }

  /** Ids of the rows whose many2one `field` holds one of `values`, ascending. */
  private many2oneHits(model: string, field: string, values: readonly unknown[]): number[] {
    const index = this.many2oneIndex(model, field);
    const out: number[] = [];
    for (const v of new Set(values)) {
      if (typeof v !== "number") continue;
      for (const id of index.get(v) ?? []) out.push(id);
    }
    return values.length > 1 ? out.sort((a, b) => a - b) : out;
  }

  /** Enters a new row (already in its table) in the model's indexes. */
  private indexRow(model: string, row: Row): void {
    const byDate = this.byWriteDate.get(model);
    if (byDate) insertSorted(byDate, row);
    for (const [field, index] of this.byMany2one.get(model) ?? []) {
      const v = row[field];
      if (typeof v === "number") addId(index, v, row.id);
    }
  }

  /** Takes a row (about to leave its table) out of the model's indexes. */
  private unindexRow(model: string, row: Row): void {
    const byDate = this.byWriteDate.get(model);
    if (byDate && !removeSorted(byDate, row)) this.byWriteDate.delete(model);
    for (const [field, index] of this.byMany2one.get(model) ?? []) {
      const v = row[field];
      if (typeof v === "number") removeId(index, v, row.id);
    }
  }

  /** Sets one stored value of a row in its table, moving the row in the indexes that value keys. */
  private assign(model: string, row: Row, name: string, value: unknown): void {
    const old = row[name];
    if (old === value) return;
    if (name === "write_date") {
      const byDate = this.byWriteDate.get(model);
      // A row not found where its key says is a row changed behind the index's back: rebuild on next use.
      if (byDate && !removeSorted(byDate, row)) this.byWriteDate.delete(model);
      row[name] = value;
      if (byDate && this.byWriteDate.get(model) === byDate) insertSorted(byDate, row);
      return;
    }
    row[name] = value;
    const index = this.byMany2one.get(model)?.get(name);
    if (!index) return;
    if (typeof old === "number") removeId(index, old, row.id);
    if (typeof value === "number") addId(index, value, row.id);
  }

  private table(name: string): Map<number, Row> {
    this.model(name);
    return this.tables.get(name) as Map<number, Row>;
  }

  private field(model: string, name: string): FieldDef {
    const f = this.model(model).fields[name];
    if (!f) throw valueError(`Invalid field '${name}' on model '${model}'`);
    return f;
  }

  /** The stored row, or undefined. Callers must not mutate it (use setRaw). */
  row(model: string, id: number): Row | undefined {
    return this.table(model).get(id);
  }

  rows(model: string): Row[] {
    return [...this.table(model).values()];
  }

  /** Sets stored values without touching write_date (for stored computed fields). */
  setRaw(model: string, id: number, vals: Record<string, unknown>): void {
    const row = this.row(model, id);
    if (!row) throw missingError(`Record does not exist or has been deleted. (Record: ${model}(${id},))`);
    for (const [name, value] of Object.entries(vals)) this.assign(model, row, name, value);
  }

  displayName(model: string, id: number): string {
    const def = this.model(model);
    const row = this.row(model, id);
    if (!row) return "";
    if (def.displayName) return def.displayName(this, row);
    const name = row.name;
    return typeof name === "string" ? name : `${model},${id}`;
  }

  create(model: string, vals: Record<string, unknown>): number {
    const def = this.model(model);
    const table = this.table(model);
    const id = this.nextIds.get(model) as number;
    this.nextIds.set(model, id + 1);
    const now = this.stamp();
    const row: Row = { id, create_date: now, write_date: now };
    const deferred: [string, unknown][] = [];
    for (const [name, f] of Object.entries(def.fields)) {
      if (name in AUTO_FIELDS || f.compute) continue;
      if (f.type === "one2many" || f.type === "many2many") {
        row[name] = [];
        if (name in vals) deferred.push([name, vals[name]]);
        else if (f.default) deferred.push([name, f.default(this, vals)]);
        continue;
      }
      if (name in vals) row[name] = this.coerce(model, name, f, vals[name]);
      else if (f.default) row[name] = this.coerce(model, name, f, f.default(this, vals));
      else row[name] = EMPTY[f.type];
      if (f.required && (row[name] === false || row[name] === "")) {
        this.nextIds.set(model, id);
        throw validationError(
          `The operation cannot be completed: Missing required fields on ${model}: ${name}`,
        );
      }
    }
    for (const name of Object.keys(vals)) {
      const f = this.field(model, name);
      if (f.compute) throw valueError(`Field '${name}' on model '${model}' is computed and cannot be set`);
    }
    table.set(id, row);
    this.indexRow(model, row);
    for (const [name, value] of deferred) this.applyX2many(model, row, name, value);
    def.afterWrite?.(this, [id]);
    return id;
  }

  write(model: string, ids: number[], vals: Record<string, unknown>): true {
    const def = this.model(model);
    const rows = ids.map((id) => {
      const r = this.row(model, id);
      if (!r)
        throw missingError(`Record does not exist or has been deleted.\n(Record: ${model}(${id},), User: 2)`);
      return r;
    });
    const now = this.stamp();
    for (const row of rows) {
      for (const [name, value] of Object.entries(vals)) {
        const f = this.field(model, name);
        if (name in AUTO_FIELDS || f.compute) {
          throw valueError(`Field '${name}' on model '${model}' cannot be written`);
        }
        if (f.type === "one2many" || f.type === "many2many") this.applyX2many(model, row, name, value);
        else this.assign(model, row, name, this.coerce(model, name, f, value));
      }
      this.assign(model, row, "write_date", now);
    }
    def.afterWrite?.(this, ids);
    return true;
  }

  unlink(model: string, ids: number[]): true {
    const def = this.model(model);
    const rows = ids.map((id) => this.row(model, id)).filter((r): r is Row => r !== undefined);
    def.beforeUnlink?.(this, rows);
    for (const r of rows) {
      // A row listed twice is removed once.
      if (this.table(model).get(r.id) !== r) continue;
      this.unindexRow(model, r);
      this.table(model).delete(r.id);
    }
    // Cascade one2many children, as Odoo's ondelete="cascade" on their inverse does.
    for (const f of Object.values(def.fields)) {
      if (f.type !== "one2many" || !f.relation || !f.inverse) continue;
      const inverse = f.inverse;
      const children = this.childIds(
        f.relation,
        inverse,
        rows.map((r) => r.id),
      );
      if (children.length > 0) this.unlink(f.relation, children);
    }
    def.afterUnlink?.(this, rows);
    return true;
  }

  private coerce(model: string, name: string, f: FieldDef, value: unknown): unknown {
    const bad = () => valueError(`Wrong value for ${model}.${name}: ${JSON.stringify(value)}`);
    if (value === false || value === null || value === undefined) return EMPTY[f.type];
    switch (f.type) {
      case "char":
      case "text":
      case "selection":
      case "datetime":
      case "date":
        if (typeof value !== "string") throw bad();
        return value;
      case "float":
      case "integer":
        if (typeof value !== "number" || !Number.isFinite(value)) throw bad();
        return f.type === "integer" ? Math.trunc(value) : value;
      case "boolean":
        return Boolean(value);
      case "many2one": {
        if (typeof value !== "number" || !f.relation) throw bad();
        if (!this.row(f.relation, value)) {
          throw missingError(
            `Record does not exist or has been deleted.\n(Record: ${f.relation}(${value},))`,
          );
        }
        return value;
      }
      default:
        throw bad();
    }
  }

  private applyX2many(model: string, row: Row, name: string, value: unknown): void {
    const f = this.field(model, name);
    const rel = f.relation as string;
    if (!Array.isArray(value)) throw valueError(`Wrong value for ${model}.${name}: ${JSON.stringify(value)}`);
    const commands: unknown[][] = value.every((v) => typeof v === "number")
      ? [[6, 0, value]]
      : value.map((c) => {
          if (!Array.isArray(c))
            throw valueError(`Wrong x2many command for ${model}.${name}: ${JSON.stringify(c)}`);
          return c;
        });
    const o2m = f.type === "one2many";
    const inverse = f.inverse as string;
    const current = (): number[] =>
      o2m ? this.childIds(rel, inverse, [row.id]) : [...(row[name] as number[])];
    const link = (id: number) => {
      if (o2m) this.write(rel, [id], { [inverse]: row.id });
      else if (!(row[name] as number[]).includes(id)) row[name] = [...(row[name] as number[]), id];
    };
    for (const cmd of commands) {
      const [op, id, arg] = cmd;
      const asId = (): number => {
        if (typeof id !== "number") throw valueError(`x2many command ${op} needs an id`);
        return id;
      };
      const asVals = (): Record<string, unknown> => {
        if (typeof arg !== "object" || arg === null || Array.isArray(arg)) {
          throw valueError(`x2many command ${op} needs a values dict`);
        }
        return arg as Record<string, unknown>;
      };
      switch (op) {
        case 0: {
          const vals = asVals();
          if (o2m) this.create(rel, { ...vals, [inverse]: row.id });
          else link(this.create(rel, vals));
          break;
        }
        case 1:
          this.write(rel, [asId()], asVals());
          break;
        case 2:
          this.unlink(rel, [asId()]);
          if (!o2m) row[name] = (row[name] as number[]).filter((x) => x !== id);
          break;
        case 3:
          if (o2m) this.unlink(rel, [asId()]);
          else row[name] = (row[name] as number[]).filter((x) => x !== id);
          break;
        case 4:
          if (!this.row(rel, asId())) throw missingError(`Record does not exist: ${rel}(${id},)`);
          link(asId());
          break;
        case 5:
          if (o2m) this.unlink(rel, current());
          else row[name] = [];
          break;
        case 6: {
          if (!Array.isArray(arg) || !arg.every((x) => typeof x === "number")) {
            throw valueError(`x2many command 6 needs a list of ids`);
          }
          const keep = arg as number[];
          for (const k of keep)
            if (!this.row(rel, k)) throw missingError(`Record does not exist: ${rel}(${k},)`);
          if (o2m) {
            const drop = current().filter((x) => !keep.includes(x));
            if (drop.length > 0) this.unlink(rel, drop);
            for (const k of keep) link(k);
          } else row[name] = [...keep];
          break;
        }
        default:
          throw valueError(`Unknown x2many command ${JSON.stringify(cmd)}`);
      }
    }
  }

  /** Ids (ascending) of the `model` rows whose many2one `inverse` points at one of `parents`. */
  private childIds(model: string, inverse: string, parents: number[]): number[] {
    const f = this.field(model, inverse);
    if (f.type === "many2one" && !f.compute) return this.many2oneHits(model, inverse, parents);
    return this.rows(model)
      .filter((c) => parents.includes(c[inverse] as number))
      .map((c) => c.id)
      .sort((a, b) => a - b);
  }

  /** The value Odoo's `read` would return for one field. */
  readField(model: string, row: Row, name: string): unknown {
    if (name === "display_name") return this.displayName(model, row.id);
    const f = this.field(model, name);
    if (f.compute) return f.compute(this, row);
    if (f.type === "one2many") {
      return this.childIds(f.relation as string, f.inverse as string, [row.id]);
    }
    if (f.type === "many2one") {
      const id = typeof row[name] === "number" ? row[name] : f.fallback?.(this, row);
      return typeof id === "number" ? [id, this.displayName(f.relation as string, id)] : false;
    }
    const v = row[name];
    if (Array.isArray(v)) return [...v];
    // Stored to the microsecond, shown to the second (as Odoo's ORM formats a datetime).
    if (f.type === "datetime" && typeof v === "string") return v.slice(0, 19);
    return v === undefined ? EMPTY[f.type] : v;
  }

  read(model: string, ids: number[], fields?: string[]): Record<string, unknown>[] {
    const def = this.model(model);
    const names = fields && fields.length > 0 ? fields : Object.keys(def.fields);
    for (const n of names) if (n !== "display_name") this.field(model, n);
    return ids.map((id) => {
      const row = this.row(model, id);
      if (!row)
        throw missingError(`Record does not exist or has been deleted.\n(Record: ${model}(${id},), User: 2)`);
      const out: Record<string, unknown> = { id };
      for (const n of names) out[n] = this.readField(model, row, n);
      return out;
    });
  }

  search(
    model: string,
    domain: unknown,
    opts: { offset?: number; limit?: number | null; order?: string | null } = {},
  ): number[] {
    let node = parseDomain(domain);
    // Odoo's active_test: archived records are hidden unless the domain itself speaks of `active`.
    if (this.model(model).fields.active && !mentionsActive(node)) {
      node = { kind: "and", left: node, right: { kind: "term", term: ["active", "=", true] } };
    }
    const order = parseOrder(opts.order ?? this.model(model).order ?? "id");
    for (const o of order) this.field(model, o.field);
    const offset = opts.offset ?? 0;
    const end = opts.limit ? offset + opts.limit : undefined;
    const fast = this.indexedSearch(model, node, order, end);
    if (fast) return fast.slice(offset, end).map((r) => r.id);
    const hits = this.rows(model).filter((r) => this.matches(model, r, node));
    hits.sort((a, b) => {
      for (const o of order) {
        const c = compareForOrder(this.sortValue(model, a, o.field), this.sortValue(model, b, o.field));
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    });
    return hits.slice(offset, end).map((r) => r.id);
  }

  /**
   * The matching rows, in order, through an index: a candidate list from an `id`/many2one term of the
   * domain's top-level AND, or a walk of the (write_date, id) index between the bounds the domain implies,
   * stopping once `end` rows matched. Null when no index applies (the caller scans the table). Every row
   * returned is tested against the whole domain, so the result is the scan's.
   */
  private indexedSearch(
    model: string,
    node: DomainNode,
    order: { field: string; desc: boolean }[],
    end: number | undefined,
  ): Row[] | null {
    const [first, second] = order;
    const byId = order.length === 1 && first?.field === "id" && !first.desc;
    const byWrite =
      order.length === 2 &&
      first?.field === "write_date" &&
      !first.desc &&
      second?.field === "id" &&
      !second.desc;
    let candidates = this.candidateIds(model, node);
    // A term most rows satisfy (all quants are in one of two locations) is a poor index for a limited read
    // in an indexed order: walking that order stops after `end` hits instead of sorting every candidate.
    if (candidates && end !== undefined && (byId || byWrite) && candidates.length > 4 * end + 100) {
      candidates = null;
    }
    const table = this.table(model);
    if (candidates) {
      const hits: Row[] = [];
      for (const id of candidates) {
        const r = table.get(id);
        if (r && this.matches(model, r, node)) hits.push(r);
      }
      hits.sort((a, b) => {
        for (const o of order) {
          const c = compareForOrder(this.sortValue(model, a, o.field), this.sortValue(model, b, o.field));
          if (c !== 0) return o.desc ? -c : c;
        }
        return 0;
      });
      return hits;
    }
    if (byId) {
      // Rows are kept in creation order, which is id order.
      const hits: Row[] = [];
      for (const r of table.values()) {
        if (end !== undefined && hits.length >= end) break;
        if (this.matches(model, r, node)) hits.push(r);
      }
      return hits;
    }
    if (!byWrite) return null;
    const rows = this.writeDateIndex(model);
    const range = writeDateRange(node);
    let i = 0;
    if (range.lo) {
      const lo = range.lo;
      let a = 0;
      let b = rows.length;
      while (a < b) {
        const m = (a + b) >> 1;
        if (compareKey(rows[m] as Row, lo) < 0) a = m + 1;
        else b = m;
      }
      i = a;
    }
    const hits: Row[] = [];
    for (; i < rows.length; i++) {
      if (end !== undefined && hits.length >= end) break;
      const r = rows[i] as Row;
      if (range.hi && compareKey(r, range.hi) > 0) break;
      if (this.matches(model, r, node)) hits.push(r);
    }
    return hits;
  }

  /** Ids a top-level AND term restricts the search to (`id in`, `id =`, many2one `in`/`=` ids). */
  private candidateIds(model: string, node: DomainNode): number[] | null {
    let best: number[] | null = null;
    for (const term of conjunction(node)) {
      const [path, op, target] = term;
      if (op !== "in" && op !== "=") continue;
      const values = op === "in" ? target : [target];
      if (!Array.isArray(values) || !values.every((v) => typeof v === "number")) continue;
      let ids: number[] | null = null;
      if (path === "id") ids = [...new Set(values as number[])].sort((a, b) => a - b);
      else {
        const f = this.model(model).fields[path];
        if (f?.type === "many2one" && !f.compute) ids = this.many2oneHits(model, path, values);
      }
      if (ids && (best === null || ids.length < best.length)) best = ids;
    }
    return best;
  }

  private sortValue(model: string, row: Row, field: string): unknown {
    const f = this.field(model, field);
    if (f.compute) return f.compute(this, row);
    return row[field];
  }

  private matches(model: string, row: Row, node: DomainNode): boolean {
    switch (node.kind) {
      case "true":
        return true;
      case "and":
        return this.matches(model, row, node.left) && this.matches(model, row, node.right);
      case "or":
        return this.matches(model, row, node.left) || this.matches(model, row, node.right);
      case "not":
        return !this.matches(model, row, node.inner);
      case "term":
        return this.matchPath(model, row, node.term[0].split("."), node.term[1], node.term[2]);
    }
  }

  private relatedIds(model: string, row: Row, name: string): number[] {
    const v = this.readField(model, row, name);
    if (Array.isArray(v) && v.length === 2 && typeof v[1] === "string") return [v[0] as number];
    if (Array.isArray(v)) return v as number[];
    return [];
  }

  private matchPath(model: string, row: Row, path: string[], op: string, target: unknown): boolean {
    const [name, ...rest] = path as [string, ...string[]];
    if (name === "id") return matchScalar(row.id, op, target);
    const f = this.field(model, name);
    if (rest.length > 0) {
      if (!f.relation) throw valueError(`Invalid field path '${path.join(".")}' on model '${model}'`);
      const rel = f.relation;
      const ids = this.relatedIds(model, row, name);
      if (ids.length === 0) return matchValue(false, op, target);
      return ids.some((id) => this.matchPath(rel, this.row(rel, id) as Row, rest, op, target));
    }
    if (f.type === "one2many" || f.type === "many2many") {
      const ids = this.relatedIds(model, row, name);
      if ((op === "=" || op === "!=") && (target === false || target === null)) {
        return op === "=" ? ids.length === 0 : ids.length > 0;
      }
      const targets = Array.isArray(target) ? target : [target];
      const hit = ids.some((id) => targets.includes(id));
      return op === "not in" || op === "!=" ? !hit : hit;
    }
    if (f.type === "many2one") {
      const id = row[name];
      const byName =
        typeof target === "string" ||
        (Array.isArray(target) &&
          (target.length < 16 ? target.some((t) => typeof t === "string") : listSet(target).hasString));
      if (byName && typeof id === "number") {
        return matchValue(this.displayName(f.relation as string, id), op, target);
      }
      return matchScalar(id, op, target);
    }
    const value = f.compute ? f.compute(this, row) : row[name];
    return matchScalar(value, op, target);
  }
}

/** A domain's list value as a set, `false` (which matches empty values) apart, built once per list. */
interface ListSet {
  hasFalse: boolean;
  hasString: boolean;
  values: Set<unknown>;
}
const listSets = new WeakMap<unknown[], ListSet>();

function listSet(list: unknown[]): ListSet {
  let set = listSets.get(list);
  if (!set) {
    set = {
      hasFalse: list.includes(false),
      hasString: list.some((t) => typeof t === "string"),
      values: new Set(list.filter((t) => t !== false && !Number.isNaN(t))),
    };
    listSets.set(list, set);
  }
  return set;
}

/**
 * `matchValue`, with a long `in`/`not in` list tested through a set built once per list (a search tests
 * every candidate row against the same list: linear per row would make a search by a long id list
 * quadratic). Same answers: members match by `===`, so NaN (which `===` never matches) is left out.
 */
function matchScalar(value: unknown, op: string, target: unknown): boolean {
  if ((op !== "in" && op !== "not in") || !Array.isArray(target) || target.length < 16) {
    return matchValue(value, op, target);
  }
  const set = listSet(target);
  const empty = value === false || value === null || value === undefined || value === "";
  const hit = (set.hasFalse && empty) || set.values.has(value);
  return op === "in" ? hit : !hit;
}

/** The (write_date, id) order, rows without a write_date last. */
function compareRows(a: Row, b: Row): number {
  return compareForOrder(a.write_date, b.write_date) || a.id - b.id;
}

/** Where `row` goes in `rows` (sorted by compareRows): the first position whose row sorts at or after it. */
function lowerBound(rows: Row[], row: Row): number {
  let a = 0;
  let b = rows.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (compareRows(rows[m] as Row, row) < 0) a = m + 1;
    else b = m;
  }
  return a;
}

function insertSorted(rows: Row[], row: Row): void {
  const last = rows[rows.length - 1];
  // New and rewritten rows take the clock's second, usually the latest one: append.
  if (last === undefined || compareRows(last, row) < 0) rows.push(row);
  else rows.splice(lowerBound(rows, row), 0, row);
}

/**
 * Removes `row`, found by its current (write_date, id), the key it was entered under since every change
 * to a stored row goes through `OdooDb.assign`. False if it is not there (the caller drops the index).
 */
function removeSorted(rows: Row[], row: Row): boolean {
  const i = lowerBound(rows, row);
  if (rows[i] !== row) return false;
  rows.splice(i, 1);
  return true;
}

function addId(index: Map<number, number[]>, value: number, id: number): void {
  const list = index.get(value);
  if (!list) index.set(value, [id]);
  else if ((list[list.length - 1] as number) < id) list.push(id);
  else {
    const i = idBound(list, id);
    if (list[i] !== id) list.splice(i, 0, id);
  }
}

function removeId(index: Map<number, number[]>, value: number, id: number): void {
  const list = index.get(value);
  if (!list) return;
  const i = idBound(list, id);
  if (list[i] !== id) return;
  if (list.length === 1) index.delete(value);
  else list.splice(i, 1);
}

/** A position in the (write_date, id) order; ids are integers, so ±Infinity stand before/after a second. */
type Key = [string, number];

function compareKey(r: Row, k: Key): number {
  const at = r.write_date;
  // Rows without a write_date sort after every dated one.
  if (typeof at !== "string" || at === "") return 1;
  if (at !== k[0]) return at < k[0] ? -1 : 1;
  return r.id === k[1] ? 0 : r.id < k[1] ? -1 : 1;
}

interface Range {
  /** Smallest key a matching row can have (inclusive), or unbounded. */
  lo: Key | null;
  hi: Key | null;
  /** Bounds on id alone, used to narrow a range that lies within one second. */
  idLo: number | null;
  idHi: number | null;
}

const minKey = (a: Key, b: Key): Key => (a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]) ? a : b);
const maxKey = (a: Key, b: Key): Key => (minKey(a, b) === a ? b : a);

/** Bounds on (write_date, id) that every row matching the domain lies within (a necessary condition). */
function writeDateRange(node: DomainNode): Range {
  const none: Range = { lo: null, hi: null, idLo: null, idHi: null };
  switch (node.kind) {
    case "term": {
      const [field, op, v] = node.term;
      if (field === "id" && typeof v === "number") {
        if (op === ">") return { ...none, idLo: Math.floor(v) + 1 };
        if (op === ">=") return { ...none, idLo: Math.ceil(v) };
        if (op === "<") return { ...none, idHi: Math.ceil(v) - 1 };
        if (op === "<=") return { ...none, idHi: Math.floor(v) };
        if (op === "=" || op === "==") return { ...none, idLo: v, idHi: v };
        return none;
      }
      if (field !== "write_date" || typeof v !== "string" || v === "") return none;
      const before: Key = [v, Number.NEGATIVE_INFINITY];
      const after: Key = [v, Number.POSITIVE_INFINITY];
      if (op === ">=") return { ...none, lo: before };
      if (op === ">") return { ...none, lo: after };
      if (op === "<=") return { ...none, hi: after };
      if (op === "<") return { ...none, hi: before };
      if (op === "=" || op === "==") return { ...none, lo: before, hi: after };
      return none;
    }
    case "and": {
      const a = writeDateRange(node.left);
      const b = writeDateRange(node.right);
      const pick = (x: number | null, y: number | null, f: (p: number, q: number) => number) =>
        x === null ? y : y === null ? x : f(x, y);
      const r: Range = {
        lo: a.lo && b.lo ? maxKey(a.lo, b.lo) : (a.lo ?? b.lo),
        hi: a.hi && b.hi ? minKey(a.hi, b.hi) : (a.hi ?? b.hi),
        idLo: pick(a.idLo, b.idLo, Math.max),
        idHi: pick(a.idHi, b.idHi, Math.min),
      };
      // Within a single second, the id bounds narrow the key range itself.
      if (r.lo && r.hi && r.lo[0] === r.hi[0]) {
        if (r.idLo !== null && r.idLo > r.lo[1]) r.lo = [r.lo[0], r.idLo];
        if (r.idHi !== null && r.idHi < r.hi[1]) r.hi = [r.hi[0], r.idHi];
      }
      return r;
    }
    case "or": {
      const a = writeDateRange(node.left);
      const b = writeDateRange(node.right);
      const pick = (x: number | null, y: number | null, f: (p: number, q: number) => number) =>
        x === null || y === null ? null : f(x, y);
      return {
        lo: a.lo && b.lo ? minKey(a.lo, b.lo) : null,
        hi: a.hi && b.hi ? maxKey(a.hi, b.hi) : null,
        idLo: pick(a.idLo, b.idLo, Math.min),
        idHi: pick(a.idHi, b.idHi, Math.max),
      };
    }
    default:
      return none;
  }
}

/** The terms of a domain's top-level AND (each must hold for a row to match). */
function conjunction(node: DomainNode): [string, string, unknown][] {
  if (node.kind === "term") return [node.term];
  if (node.kind === "and") return [...conjunction(node.left), ...conjunction(node.right)];
  return [];
}

export function parseOrder(order: string): { field: string; desc: boolean }[] {
  return order
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const [field, dir, ...extra] = s.split(/\s+/);
      const d = (dir ?? "asc").toLowerCase();
      if (!field || (d !== "asc" && d !== "desc") || extra.length > 0) {
        throw valueError(`Invalid "order" specified (${order})`);
      }
      return { field, desc: d === "desc" };
    });
}

// PostgreSQL puts NULLs last in ascending order; Odoo inherits that.
function compareForOrder(a: unknown, b: unknown): number {
  const an = a === false || a === null || a === undefined;
  const bn = b === false || b === null || b === undefined;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function mentionsActive(node: DomainNode): boolean {
  switch (node.kind) {
    case "term":
      return node.term[0] === "active";
    case "not":
      return mentionsActive(node.inner);
    case "and":
    case "or":
      return mentionsActive(node.left) || mentionsActive(node.right);
    default:
      return false;
  }
}

/**
 * The emulator's in-memory ORM: models with typed fields, records, Odoo's CRUD semantics (x2many
 * commands, many2one as `[id, display_name]` on read, `false` for empty values) and domain search.
 */
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
  private readonly tables = new Map<string, Map<number, Row>>();
  private readonly nextIds = new Map<string, number>();
  private readonly sequences = new Map<string, number>();
  private frozenNow: string | null = null;

  /** The server clock; `freeze` pins it so tests can give many records the same write_date. */
  now(): string {
    return this.frozenNow ?? odooDatetime(new Date());
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
    Object.assign(row, vals);
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
    const now = this.now();
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
    const now = this.now();
    for (const row of rows) {
      for (const [name, value] of Object.entries(vals)) {
        const f = this.field(model, name);
        if (name in AUTO_FIELDS || f.compute) {
          throw valueError(`Field '${name}' on model '${model}' cannot be written`);
        }
        if (f.type === "one2many" || f.type === "many2many") this.applyX2many(model, row, name, value);
        else row[name] = this.coerce(model, name, f, value);
      }
      row.write_date = now;
    }
    def.afterWrite?.(this, ids);
    return true;
  }

  unlink(model: string, ids: number[]): true {
    const def = this.model(model);
    const rows = ids.map((id) => this.row(model, id)).filter((r): r is Row => r !== undefined);
    def.beforeUnlink?.(this, rows);
    for (const r of rows) this.table(model).delete(r.id);
    // Cascade one2many children, as Odoo's ondelete="cascade" on their inverse does.
    for (const f of Object.values(def.fields)) {
      if (f.type !== "one2many" || !f.relation || !f.inverse) continue;
      const inverse = f.inverse;
      const children = this.rows(f.relation).filter((c) => rows.some((r) => r.id === c[inverse]));
      if (children.length > 0)
        this.unlink(
          f.relation,
          children.map((c) => c.id),
        );
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
      o2m
        ? this.rows(rel)
            .filter((c) => c[inverse] === row.id)
            .map((c) => c.id)
        : [...(row[name] as number[])];
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

  /** The value Odoo's `read` would return for one field. */
  readField(model: string, row: Row, name: string): unknown {
    if (name === "display_name") return this.displayName(model, row.id);
    const f = this.field(model, name);
    if (f.compute) return f.compute(this, row);
    if (f.type === "one2many") {
      const inverse = f.inverse as string;
      return this.rows(f.relation as string)
        .filter((c) => c[inverse] === row.id)
        .map((c) => c.id)
        .sort((a, b) => a - b);
    }
    if (f.type === "many2one") {
      const id = row[name];
      return typeof id === "number" ? [id, this.displayName(f.relation as string, id)] : false;
    }
    const v = row[name];
    if (Array.isArray(v)) return [...v];
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
    const hits = this.rows(model).filter((r) => this.matches(model, r, node));
    const order = parseOrder(opts.order ?? this.model(model).order ?? "id");
    for (const o of order) this.field(model, o.field);
    hits.sort((a, b) => {
      for (const o of order) {
        const c = compareForOrder(this.sortValue(model, a, o.field), this.sortValue(model, b, o.field));
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    });
    const offset = opts.offset ?? 0;
    const end = opts.limit ? offset + opts.limit : undefined;
    return hits.slice(offset, end).map((r) => r.id);
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
    if (name === "id") return matchValue(row.id, op, target);
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
        typeof target === "string" || (Array.isArray(target) && target.some((t) => typeof t === "string"));
      if (byName && typeof id === "number") {
        return matchValue(this.displayName(f.relation as string, id), op, target);
      }
      return matchValue(id, op, target);
    }
    const value = f.compute ? f.compute(this, row) : row[name];
    return matchValue(value, op, target);
  }
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

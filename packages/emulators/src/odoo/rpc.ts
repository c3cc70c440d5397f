/** Dispatch of Odoo's legacy external API (`common` and `object` services) onto the in-memory ORM. */
import { z } from "zod";
import type { OdooDb } from "./db.ts";
import { accessDenied, OdooException, valueError } from "./errors.ts";

/** The operations of Odoo's model access rights (ir.model.access: perm_read, perm_write, …). */
export type AccessOp = "read" | "write" | "create" | "unlink";
const ACCESS_OPS: readonly string[] = ["read", "write", "create", "unlink"];

export interface Credentials {
  db: string;
  login: string;
  password: string;
  uid: number;
  /** Per model, the access rights the user's groups lack (none: the user is an administrator). */
  denied?: Readonly<Record<string, readonly AccessOp[]>>;
}

/** The access right each ORM method needs, as Odoo checks it before running the method. */
const NEEDS: Record<string, AccessOp> = {
  search_read: "read",
  search: "read",
  search_count: "read",
  read: "read",
  fields_get: "read",
  create: "create",
  write: "write",
  unlink: "unlink",
};

const VERBS: Record<AccessOp, string> = {
  read: "access",
  write: "modify",
  create: "create",
  unlink: "delete",
};

function lacks(creds: Credentials, model: string, op: AccessOp): boolean {
  return creds.denied?.[model]?.includes(op) ?? false;
}

/** Odoo's AccessError for a model access right the user lacks. */
function accessError(model: string, op: AccessOp): OdooException {
  return new OdooException(
    "odoo.exceptions.AccessError",
    `You are not allowed to ${VERBS[op]} '${model}' (${model}) records.\n\nContact your administrator to request access if necessary.`,
  );
}

export interface RpcStats {
  calls: number;
  writes: number;
  byMethod: Record<string, number>;
}

const WRITE_METHODS = new Set(["create", "write", "unlink"]);

const Ids = z.array(z.number().int());
const Fields = z.array(z.string()).optional();
const Kwargs = z.record(z.string(), z.unknown());
const ExecuteKw = z.tuple([z.unknown(), z.unknown(), z.unknown(), z.string(), z.string()]).rest(z.unknown());

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw valueError(`${what}: ${r.error.issues[0]?.message ?? "invalid"} (got ${JSON.stringify(value)})`);
  return r.data;
}

function optNumber(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

export function checkLogin(
  creds: Credentials,
  db: unknown,
  login: unknown,
  password: unknown,
): number | false {
  return db === creds.db && login === creds.login && password === creds.password ? creds.uid : false;
}

export function dispatch(
  orm: OdooDb,
  creds: Credentials,
  stats: RpcStats,
  service: string,
  method: string,
  args: unknown[],
): unknown {
  const count = (key: string, write: boolean) => {
    stats.calls++;
    stats.byMethod[key] = (stats.byMethod[key] ?? 0) + 1;
    if (write) stats.writes++;
  };
  if (service === "common") {
    count(`common.${method}`, false);
    if (method === "version") {
      return {
        server_version: "17.0",
        server_version_info: [17, 0, 0, "final", 0, ""],
        server_serie: "17.0",
        protocol_version: 1,
      };
    }
    if (method === "login" || method === "authenticate") return checkLogin(creds, args[0], args[1], args[2]);
    throw new OdooException("builtins.NameError", `Method not available ${method}`);
  }
  if (service !== "object" || method !== "execute_kw") {
    stats.calls++;
    throw new OdooException("builtins.NameError", `Method not available ${service}.${method}`);
  }
  const [db, uid, password, model, fn, rawArgs, rawKwargs] = parse(ExecuteKw, args, "execute_kw arguments");
  const custom = orm.methods.get(model)?.get(fn);
  count(`${model}.${fn}`, WRITE_METHODS.has(fn) || custom !== undefined);
  if (db !== creds.db || uid !== creds.uid || password !== creds.password) throw accessDenied();
  const a = parse(z.array(z.unknown()), rawArgs ?? [], "execute_kw args");
  const kw = parse(Kwargs, rawKwargs ?? {}, "execute_kw kwargs");
  orm.model(model);
  if (fn === "check_access_rights") {
    // Odoo's check_access_rights(operation, raise_exception=True): True, or False / AccessError.
    const op = kw.operation ?? a[0];
    if (typeof op !== "string" || !ACCESS_OPS.includes(op))
      throw new OdooException("builtins.AssertionError", "Invalid access mode");
    const raise = (kw.raise_exception ?? a[1] ?? true) !== false;
    if (!lacks(creds, model, op as AccessOp)) return true;
    if (raise) throw accessError(model, op as AccessOp);
    return false;
  }
  const needs = NEEDS[fn] ?? (custom ? "write" : undefined);
  if (needs && lacks(creds, model, needs)) throw accessError(model, needs);
  return orm.transaction(() => execute(orm, model, fn, a, kw, custom));
}

function execute(
  orm: OdooDb,
  model: string,
  fn: string,
  a: unknown[],
  kw: Record<string, unknown>,
  custom: ReturnType<NonNullable<ReturnType<OdooDb["methods"]["get"]>>["get"]>,
): unknown {
  const searchOpts = (offsetAt: number) => ({
    offset: optNumber(kw.offset ?? a[offsetAt]) ?? 0,
    limit: optNumber(kw.limit ?? a[offsetAt + 1]) ?? null,
    order: typeof (kw.order ?? a[offsetAt + 2]) === "string" ? String(kw.order ?? a[offsetAt + 2]) : null,
  });
  switch (fn) {
    case "search_read": {
      const domain = kw.domain ?? a[0] ?? [];
      const fields = parse(Fields, kw.fields ?? a[1] ?? undefined, "fields");
      const ids = orm.search(model, domain, searchOpts(2));
      return orm.read(model, ids, fields);
    }
    case "search":
      return orm.search(model, kw.domain ?? a[0] ?? [], searchOpts(1));
    case "search_count":
      return orm.search(model, kw.domain ?? a[0] ?? []).length;
    case "read": {
      const ids = parse(Ids, a[0], "read ids");
      return orm.read(model, ids, parse(Fields, kw.fields ?? a[1] ?? undefined, "fields"));
    }
    case "create": {
      const vals = a[0] ?? kw.vals_list;
      const ctx = kw.context && typeof kw.context === "object" ? (kw.context as Record<string, unknown>) : {};
      const creator = orm.creators.get(model);
      const list = (Array.isArray(vals) ? vals : [vals]).map((v) => parse(Kwargs, v, "create values"));
      const ids = creator ? creator(orm, list, ctx) : list.map((v) => orm.create(model, v));
      return Array.isArray(vals) ? ids : ids[0];
    }
    case "write":
      return orm.write(model, parse(Ids, a[0], "write ids"), parse(Kwargs, a[1] ?? kw.vals, "write values"));
    case "unlink":
      return orm.unlink(model, parse(Ids, a[0], "unlink ids"));
    case "fields_get": {
      const out: Record<string, { type: string; relation?: string; string: string }> = {};
      for (const [name, f] of Object.entries(orm.model(model).fields)) {
        out[name] = { type: f.type, string: name, ...(f.relation ? { relation: f.relation } : {}) };
      }
      return out;
    }
    default: {
      if (!custom) {
        throw new OdooException(
          "builtins.AttributeError",
          `The method '${fn}' does not exist on the model '${model}'`,
        );
      }
      const ids = parse(Ids, a[0], `${fn} ids`);
      return custom(orm, ids, kw);
    }
  }
}

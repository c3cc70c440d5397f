/**
 * The shape of passerelle.yaml. Connector settings come from the connector definitions passed in (each
 * connector registers itself by import), so the schema, its error messages and the JSON Schema for editors
 * always list exactly the connectors this build has.
 */
import { z } from "zod";
import { compileJsonata } from "../core/expression.ts";
import { BACKORDER_POLICIES } from "../core/kit.ts";
import { Mapping } from "../core/mapping.ts";
import { CONFLICT_POLICIES, DELETE_POLICIES } from "../core/merge.ts";
import { ENTITIES, type EntityName } from "../core/model.ts";
import type { ConnectorDefinition } from "../ports/connector.ts";
import { Alerts, type AlertsConfig, alertProblems } from "./alerts.ts";
import { ownableFields, ownershipIssues, ownershipSide, unknownMappingFields } from "./mapping-fields.ts";

/** Issue params asking load.ts not to append the bad value (the message already names it). */
export const QUIET = { showValue: false } as const;

export const DEFAULT_STORE_URL = "sqlite:.passerelle/passerelle.sqlite";

/** Connection and flow names appear in URLs (/webhooks/<connection>) and in log lines. */
const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, {
  message: "must start with a letter or digit and contain only letters, digits, _ and -",
});

const Jsonata = (what: string) =>
  z
    .string()
    .min(1)
    .superRefine((text, ctx) => {
      const compiled = compileJsonata(text, what);
      if (typeof compiled === "string") ctx.addIssue({ code: "custom", message: compiled });
    });

/** Five or six cron fields, or a nickname such as @hourly. Croner parses it fully when the scheduler starts. */
const Cron = z.string().regex(/^(@(yearly|annually|monthly|weekly|daily|hourly)|\S+(\s+\S+){4,5})$/, {
  message: 'must be a cron expression with 5 or 6 fields, e.g. "*/15 * * * *", or @hourly / @daily',
});

export const Trigger = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ type: z.literal("manual") }),
    z.strictObject({ type: z.literal("schedule"), cron: Cron }),
    z.strictObject({
      type: z.literal("events"),
      /** Events for one record within this window collapse into one sync of that record. */
      coalesceMs: z.number().int().min(0).max(600_000).default(1000),
      /** More events than this for the flow's entity within a minute: one batch pass instead of per-record syncs. */
      massThreshold: z.number().int().min(1).default(500),
      /** The reconciliation poll behind the webhooks: when it runs, and how far each window reaches back. */
      reconcile: z
        .strictObject({
          cron: Cron.default("*/15 * * * *"),
          overlapSeconds: z.number().int().min(0).default(300),
        })
        .prefault({}),
    }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union"
        ? 'must be one of { type: "manual" }, { type: "schedule", cron: "…" }, { type: "events" }'
        : undefined,
  },
);

const Endpoint = z.strictObject({
  /** Connection name. */
  connection: Name,
  entity: z.enum(ENTITIES, { error: () => `must be a canonical entity: ${ENTITIES.join(", ")}` }),
});

/** Retries of a failed vendor call: exponential backoff with jitter, a vendor's Retry-After wins. */
const RetryFields = {
  /** Tries per call, the first included. */
  attempts: z.number().int().min(1).max(20),
  /** Delay before the first retry; doubles each time. */
  baseDelayMs: z.number().int().min(0).max(600_000),
  /** No single delay is longer than this (a longer Retry-After is still honoured, within maxElapsedMs). */
  maxDelayMs: z.number().int().min(0).max(3_600_000),
  /** Gives up when the next retry would end after this long since the first try (0: no cap). */
  maxElapsedMs: z.number().int().min(0).max(86_400_000),
};
export const Retry = z.strictObject({
  attempts: RetryFields.attempts.default(4),
  baseDelayMs: RetryFields.baseDelayMs.default(250),
  maxDelayMs: RetryFields.maxDelayMs.default(30_000),
  maxElapsedMs: RetryFields.maxElapsedMs.default(120_000),
});
export type RetryConfig = z.output<typeof Retry>;

/** What a two-way flow does beyond a one-way flow: who owns which fields, and what decides a conflict. */
export const TwoWay = z.strictObject({
  /**
   * Side (the flow's `source` or `target`, or either connection's name) → the top-level canonical fields it
   * owns. A write never changes a field its target owns; fields owned by neither follow `conflict`.
   */
  ownership: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  conflict: z.enum(CONFLICT_POLICIES, {
    error: (issue) =>
      issue.input === undefined
        ? `a two-way flow needs a conflict policy: ${CONFLICT_POLICIES.join(", ")}`
        : `must be one of ${CONFLICT_POLICIES.join(", ")}`,
  }),
  /**
   * A record removed (deleted or archived) on one side: `propagate` removes it on the other too (archived
   * where that side can archive, else deleted), `archive` archives it there, `ignore` keeps it there. Never
   * recreated where it was removed (core/merge.ts DELETE_POLICIES).
   */
  deletes: z
    .enum(DELETE_POLICIES, {
      error: () => `must be one of ${DELETE_POLICIES.join(", ")}`,
    })
    .default("ignore"),
});
export type TwoWayConfig = z.output<typeof TwoWay>;

export const Flow = z.strictObject({
  source: Endpoint,
  target: Endpoint,
  mapping: Mapping.optional(),
  trigger: Trigger.default({ type: "manual" }),
  batchSize: z.number().int().min(1).max(1000).default(100),
  /** Lets products and prices with a price of 0 through (free items); off, such a record fails with the reason. */
  allowFreeItems: z.boolean().default(false),
  /**
   * Inventory flows: whether the shop takes orders for an item that is out of stock while its supplier's lead
   * time gives a restock date (`allow`), or stops selling it (`deny`, the default). The date is sent either way.
   */
  backorders: z
    .enum(BACKORDER_POLICIES, {
      error: () => `must be one of ${BACKORDER_POLICIES.join(", ")}`,
    })
    .optional(),
  /**
   * Invoice and shipment flows: each record's document (invoice PDF, delivery note) also carries a signed
   * link a shopper can open (`url`, under server.documentLinks, valid `days` from the invoice's or the
   * shipment's date), which writers put where they put the ref.
   */
  documentLinks: z.boolean().optional(),
  /** JSONata boolean expression on the canonical record (after mapping); false skips the record. */
  filter: Jsonata("filter").optional(),
  direction: z
    .enum(["one-way", "two-way"], { error: () => 'must be "one-way" or "two-way"' })
    .default("one-way"),
  /** Required when `direction` is two-way, refused otherwise. */
  twoWay: TwoWay.optional(),
  /** Overrides of the top-level retry policy for this flow. */
  retry: z.strictObject(RetryFields).partial().optional(),
});
export type FlowConfig = z.output<typeof Flow>;

const Store = z.strictObject({
  url: z
    .string()
    .regex(/^(sqlite:|postgres(ql)?:\/\/)/, {
      message: "must start with sqlite: or postgres:// (postgresql://)",
    })
    .default(DEFAULT_STORE_URL),
  /**
   * PostgreSQL (pg-boss): how long a running job outlives a worker that vanished before it is run again.
   * One value for every process of a deployment; keep it above the longest run (docs/deploy.md).
   */
  jobExpireSeconds: z.number().int().min(1).max(86_400).default(900),
});

/** How long a signed document link may be made to last, in days (server.documentLinks.days, `--days`). */
export const LINK_DAYS = { min: 1, max: 3660 } as const;

const Server = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.number().int().min(1).max(65535).default(8470),
  /** HTTPS with this PEM certificate and key (file paths). */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Largest webhook body accepted, in bytes (default 1 MiB); larger ones are refused (413) before being read whole. */
  bodyLimit: z
    .number()
    .int()
    .min(1024)
    .max(50 * 1024 * 1024)
    .optional(),
  /**
   * The metrics listener of processes that serve nothing else (`passerelle run --role worker|scheduler`,
   * `passerelle worker`): `GET /metrics` and `GET /healthz` on this address. Absent, they serve nothing;
   * `--metrics-port` / `--metrics-host` override it per process.
   */
  metrics: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: z.number().int().min(1).max(65535),
    })
    .optional(),
  /**
   * Signed links to the documents ERPs render (`GET /documents/<connection>`, `passerelle document --link`):
   * the HMAC key and the address shoppers reach this server at. Absent, no document is served without a
   * token.
   */
  documentLinks: z
    .strictObject({
      secret: z.string().min(32, "must be at least 32 characters (e.g. openssl rand -base64 32)"),
      publicUrl: z.url().refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL"),
      /** How long a link `passerelle document --link` makes stays valid, in days (default 30). */
      days: z.number().int().min(LINK_DAYS.min).max(LINK_DAYS.max).default(30),
    })
    .optional(),
  /**
   * `passerelle run` (role all): run the jobs — syncs, inbox drains, reconciliations, retries — in a worker
   * thread of the process, so that webhook deliveries are acknowledged without waiting behind a sync's work
   * on the main thread. Costs a second copy of the loaded connectors in memory; needs a file or PostgreSQL
   * store (not sqlite::memory:). Default false.
   */
  jobsThread: z.boolean().default(false),
});

/**
 * The API calls a connection may make per UTC day (the vendor's plan, or what the operator allots), shown
 * against the calls made (management API: /api/v1/connections, /api/v1/usage).
 */
const Budget = z.strictObject({ callsPerDay: z.number().int().min(1) });

/** A connection as parsed: its connector `type` beside that connector's own settings. */
export interface ConnectionConfig {
  type: string;
  [setting: string]: unknown;
}

export interface PasserelleConfig {
  version: 1;
  store: { url: string; jobExpireSeconds: number };
  connections: Record<string, ConnectionConfig>;
  flows: Record<string, FlowConfig>;
  server: {
    host: string;
    port: number;
    tls?: { cert: string; key: string };
    bodyLimit?: number;
    metrics?: { host: string; port: number };
    documentLinks?: { secret: string; publicUrl: string; days: number };
    jobsThread?: boolean;
  };
  /** The default retry policy; flows may override parts of it. */
  retry: RetryConfig;
  /** Alert channels and rules (docs/alerts.md). */
  alerts: AlertsConfig;
  /** Daily API call budgets by connection name. */
  budgets: Record<string, { callsPerDay: number }>;
  /** Shared request budgets per connection, kept across every process on the store (connectors/http/governor.ts). */
  governor: Record<string, { requestsPerSecond: number }>;
}

function connectionSchema(definitions: readonly ConnectorDefinition[]): z.ZodType<ConnectionConfig, unknown> {
  const known = definitions.map((d) => d.kind);
  const unknownType = (input: unknown): string => {
    const type = input !== null && typeof input === "object" && "type" in input ? input.type : undefined;
    const list = known.length > 0 ? known.join(", ") : "(none registered)";
    return type === undefined
      ? `a connection needs a type; known types: ${list}`
      : `unknown connector type; known types: ${list}`;
  };
  const options = definitions.map((d) => {
    const type = z.literal(d.kind);
    if (d.configSchema instanceof z.ZodObject) return d.configSchema.extend({ type });
    // Settings that are not a plain object schema: check `type` here, the rest with the connector's schema.
    return z.looseObject({ type }).superRefine(({ type: _type, ...settings }, ctx) => {
      const parsed = d.configSchema.safeParse(settings);
      if (!parsed.success)
        for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: "custom" });
    });
  });
  const [first, ...rest] = options;
  if (!first) {
    return z.looseObject({ type: z.string() }).superRefine((c, ctx) => {
      ctx.addIssue({ code: "custom", path: ["type"], message: unknownType(c) });
    });
  }
  return z
    .discriminatedUnion("type", [first, ...rest], {
      error: (issue) => (issue.code === "invalid_union" ? unknownType(issue.input) : undefined),
    })
    .transform(({ type, ...settings }): ConnectionConfig => ({ type: String(type), ...settings }));
}

/** Two-way settings against the flow: present exactly when two-way, no mapping or filter, ownership checked. */
function twoWayIssues(flow: string, spec: FlowConfig, ctx: z.RefinementCtx): void {
  const at = (...path: string[]) => ["flows", flow, ...path];
  if (spec.direction !== "two-way") {
    ctx.addIssue({
      code: "custom",
      path: at("twoWay"),
      message: 'only a two-way flow has twoWay settings; add direction: "two-way" or remove them',
    });
    return;
  }
  if (spec.twoWay === undefined) {
    ctx.addIssue({
      code: "custom",
      path: at("twoWay"),
      message: `a two-way flow needs twoWay: { conflict: ${CONFLICT_POLICIES.join(" | ")}, ownership: { <side>: [fields] } }`,
    });
  }
  for (const key of ["mapping", "filter"] as const) {
    if (spec[key] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: at(key),
        message: `a two-way flow cannot have a ${key} yet: it would apply in one direction only`,
      });
    }
  }
  const entity = spec.source?.entity;
  if (!spec.twoWay || !ENTITIES.includes(entity)) return;
  const sides = { source: spec.source.connection, target: spec.target?.connection };
  for (const issue of ownershipIssues(entity, spec.twoWay.ownership, sides)) {
    ctx.addIssue({
      code: "custom",
      path: at("twoWay", "ownership", ...issue.path.map(String)),
      message: issue.message,
      params: QUIET,
    });
  }
}

/**
 * A side whose writer sets only some fields (ConnectorDefinition.writesFields) must own every other field
 * of the flow's records: a field the other side owns, or one left unowned (merged by the conflict policy),
 * could change on the other side and never reach this one, with nothing to say so. One issue on
 * `twoWay.ownership`, naming the side, what it writes and the fields to give it.
 */
function partialWriterIssues(
  flow: string,
  spec: FlowConfig,
  connections: Record<string, { type: string } | undefined>,
  definitions: readonly ConnectorDefinition[],
  ctx: z.RefinementCtx,
): void {
  const entity = spec.source?.entity;
  const ownership = spec.twoWay?.ownership;
  if (!ownership || !ENTITIES.includes(entity)) return;
  const sides = { source: spec.source.connection, target: spec.target?.connection };
  for (const side of ["source", "target"] as const) {
    const conn = spec[side]?.connection ?? "";
    const def = definitions.find((d) => d.kind === connections[conn]?.type);
    const writes = def?.writesFields?.[entity];
    if (!def || !writes) continue;
    const owned = new Set(
      Object.entries(ownership)
        .filter(([name]) => ownershipSide(name, sides) === side)
        .flatMap(([, fields]) => fields),
    );
    const ownedElsewhere = new Set(
      Object.entries(ownership)
        .filter(([name]) => ownershipSide(name, sides) !== side)
        .flatMap(([, fields]) => fields),
    );
    const dropped = ownableFields(entity).filter((f) => !owned.has(f) && !writes.includes(f));
    if (dropped.length === 0) continue;
    const moved = dropped.filter((f) => ownedElsewhere.has(f));
    ctx.addIssue({
      code: "custom",
      path: ["flows", flow, "twoWay", "ownership"],
      message: `a ${def.kind} connection writes only ${writes.join(", ")} of ${entity} records, so ${conn} must own every other field, or the other side's changes to it would be dropped there; add to ${conn}'s ownership: ${dropped.join(", ")}${moved.length > 0 ? ` (and take ${moved.join(", ")} from the other side's)` : ""}`,
    });
  }
}

/**
 * A delete policy that writes removals needs each side able to report and remove the flow's records
 * (`propagate`: archive or delete; `archive`: archive). One issue on `twoWay.deletes`, naming each side that
 * cannot.
 */
function deletePolicyIssues(
  flow: string,
  spec: FlowConfig,
  connections: Record<string, { type: string } | undefined>,
  definitions: readonly ConnectorDefinition[],
  ctx: z.RefinementCtx,
): void {
  const deletes = spec.twoWay?.deletes;
  const entity = spec.source?.entity;
  if ((deletes !== "propagate" && deletes !== "archive") || !ENTITIES.includes(entity)) return;
  const lacking: string[] = [];
  for (const side of ["source", "target"] as const) {
    const conn = spec[side]?.connection ?? "";
    const def = definitions.find((d) => d.kind === connections[conn]?.type);
    if (!def) continue;
    const can = def.removals?.[entity] ?? [];
    if (deletes === "propagate" ? can.length > 0 : can.includes("archive")) continue;
    lacking.push(
      can.length === 0
        ? `${conn} (${def.kind}) does neither`
        : `${conn} (${def.kind}) can only ${can.join(" or ")} them`,
    );
  }
  if (lacking.length === 0) return;
  ctx.addIssue({
    code: "custom",
    path: ["flows", flow, "twoWay", "deletes"],
    message:
      deletes === "propagate"
        ? `deletes: propagate needs both sides to report and remove ${entity} records, and ${lacking.join(", ")}; use ignore`
        : `deletes: archive needs both sides to report and archive ${entity} records, and ${lacking.join(", ")}; use propagate (archives where a side can, deletes where it cannot) or ignore`,
  });
}

/** A connection's settings as its connector's schema takes them (everything but `type`). */
function withoutType(settings: unknown): unknown {
  if (settings === null || typeof settings !== "object") return settings;
  const { type: _type, ...rest } = settings as Record<string, unknown>;
  return rest;
}

/** The passerelle.yaml schema for this set of connectors. */
export function buildConfigSchema(definitions: readonly ConnectorDefinition[]): z.ZodType<PasserelleConfig> {
  return z
    .strictObject({
      version: z.literal(1, { error: () => "must be 1 (the only configuration format so far)" }),
      store: Store.prefault({}),
      connections: z.record(Name, connectionSchema(definitions)),
      flows: z.record(Name, Flow).default({}),
      server: Server.prefault({}),
      retry: Retry.prefault({}),
      alerts: Alerts.prefault({}),
      budgets: z.record(Name, Budget).default({}),
      governor: z
        .record(Name, z.strictObject({ requestsPerSecond: z.number().positive().max(100_000) }))
        .default({}),
    })
    .superRefine(
      (config, ctx) => {
        // Runs even when other parts failed, so every problem is reported in one pass; hence the defensive reads.
        const connections = config.connections ?? {};
        const names = Object.keys(connections);
        for (const name of Object.keys(config.budgets ?? {})) {
          if (!Object.hasOwn(connections, name)) {
            ctx.addIssue({
              code: "custom",
              path: ["budgets", name],
              message: `unknown connection; connections: ${names.join(", ") || "(none)"}`,
            });
          }
        }
        for (const name of Object.keys(config.governor ?? {})) {
          if (!Object.hasOwn(connections, name))
            ctx.addIssue({
              code: "custom",
              path: ["governor", name],
              message: `unknown connection ${JSON.stringify(name)}; connections: ${names.join(", ") || "(none)"}`,
            });
        }
        for (const [flow, spec] of Object.entries(config.flows ?? {})) {
          for (const side of ["source", "target"] as const) {
            const connection = spec?.[side]?.connection;
            if (typeof connection === "string" && !Object.hasOwn(connections, connection)) {
              ctx.addIssue({
                code: "custom",
                path: ["flows", flow, side, "connection"],
                message: `unknown connection; connections: ${names.join(", ") || "(none)"}`,
              });
            }
          }
          const kinds = { source: "reads", target: "writes" } as const;
          for (const side of ["source", "target"] as const) {
            const type = connections[spec?.[side]?.connection ?? ""]?.type;
            const def = definitions.find((d) => d.kind === type);
            const entity = spec?.[side]?.entity;
            if (def && entity && ENTITIES.includes(entity) && !def[kinds[side]].includes(entity)) {
              ctx.addIssue({
                code: "custom",
                path: ["flows", flow, side, "entity"],
                message: `a ${def.kind} connection cannot ${side === "source" ? "read" : "write"} ${entity} records; it ${kinds[side].slice(0, -1)}s ${def[kinds[side]].join(", ") || "nothing"}`,
              });
            }
          }
          const [from, to] = [spec?.source?.entity, spec?.target?.entity];
          if (from && to && ENTITIES.includes(from) && ENTITIES.includes(to) && from !== to) {
            ctx.addIssue({
              code: "custom",
              path: ["flows", flow, "target", "entity"],
              message: `must be the source's entity (${spec.source.entity}): a flow moves one canonical entity`,
            });
          }
          const mapped = ENTITIES.includes(to) ? to : from;
          if (mapped && ENTITIES.includes(mapped) && spec.mapping && typeof spec.mapping === "object") {
            for (const { field, message } of unknownMappingFields(mapped, spec.mapping)) {
              // The field's name is the bad value and is in the path: the rule after it would only be noise.
              ctx.addIssue({
                code: "custom",
                path: ["flows", flow, "mapping", field],
                message,
                params: QUIET,
              });
            }
          }
          if (spec?.backorders !== undefined && from !== undefined && from !== "inventory") {
            ctx.addIssue({
              code: "custom",
              path: ["flows", flow, "backorders"],
              message: `only an inventory flow has a backorder policy; flow ${flow} moves ${from} records`,
            });
          }
          if (spec?.documentLinks && from !== undefined && from !== "invoice" && from !== "shipment") {
            ctx.addIssue({
              code: "custom",
              path: ["flows", flow, "documentLinks"],
              message: `only invoice and shipment flows carry documents; flow ${flow} moves ${from} records`,
            });
          }
          if (spec?.documentLinks && !config.server?.documentLinks) {
            ctx.addIssue({
              code: "custom",
              path: ["flows", flow, "documentLinks"],
              message:
                "needs server.documentLinks (secret, publicUrl): the key links are signed with and where they point",
            });
          }
          if (spec?.direction === "two-way" || spec?.twoWay !== undefined) twoWayIssues(flow, spec, ctx);
          if (spec?.direction === "two-way") {
            // Each side is read and written: both connections must be able to do both.
            for (const side of ["source", "target"] as const) {
              const type = connections[spec?.[side]?.connection ?? ""]?.type;
              const def = definitions.find((d) => d.kind === type);
              const entity = spec?.[side]?.entity;
              if (!def || !entity || !ENTITIES.includes(entity)) continue;
              const other = side === "source" ? "writes" : "reads";
              if (!def[other].includes(entity)) {
                ctx.addIssue({
                  code: "custom",
                  path: ["flows", flow, side, "connection"],
                  message: `a two-way flow reads and writes both sides, and a ${def.kind} connection cannot ${other === "writes" ? "write" : "read"} ${entity} records`,
                });
              }
            }
            deletePolicyIssues(flow, spec, connections, definitions, ctx);
            partialWriterIssues(flow, spec, connections, definitions, ctx);
          }
          if (spec?.source?.connection !== undefined && spec.source.connection === spec.target?.connection) {
            ctx.addIssue({
              code: "custom",
              path: ["flows", flow, "target", "connection"],
              message: "a flow's target must be a different connection from its source",
            });
          }
        }
        for (const problem of alertProblems(config.alerts, config.flows ?? {}, names))
          ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
        for (const [name, settings] of Object.entries(connections)) {
          const def = definitions.find((d) => d.kind === settings?.type);
          if (!def?.checkUse) continue;
          const parsed = def.configSchema.safeParse(withoutType(settings));
          if (!parsed.success) continue;
          const use = { reads: [] as EntityName[], writes: [] as EntityName[] };
          for (const spec of Object.values(config.flows ?? {})) {
            if (spec?.source?.connection === name && ENTITIES.includes(spec.source.entity))
              use.reads.push(spec.source.entity);
            if (spec?.target?.connection === name && ENTITIES.includes(spec.target.entity))
              use.writes.push(spec.target.entity);
          }
          for (const problem of def.checkUse(parsed.data, use))
            ctx.addIssue({
              code: "custom",
              path: ["connections", name, ...problem.path],
              message: problem.message,
            });
        }
      },
      { when: () => true },
    );
}

/**
 * JSON schemas of the management API's routes: fastify validates requests and serialises responses with
 * them, and @fastify/swagger turns them into the OpenAPI document at /api/v1/openapi.json. Objects that
 * carry records (native or canonical payloads) are left open: their shape is the connector's or the model's.
 */
import { z } from "zod";
import { EntityName } from "../../core/model.ts";
import { ROLES } from "../../ports/access.ts";

type Schema = Record<string, unknown>;

const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: "null" }] });
const str: Schema = { type: "string" };
const int: Schema = { type: "integer" };
const any: Schema = {};
const obj = (properties: Record<string, Schema>, required: string[] = [], open = false): Schema => ({
  type: "object",
  properties,
  required,
  additionalProperties: open,
});
const arr = (items: Schema): Schema => ({ type: "array", items });

export const ErrorBody = obj({ error: str }, ["error"]);

/** The 4xx answers every route may give, on top of its own. */
export const errors = (...codes: number[]): Record<string, Schema> =>
  Object.fromEntries(
    [401, 403, ...codes].map((c) => [String(c), { ...ErrorBody, description: ERROR_WHEN[c] ?? "error" }]),
  );

const ERROR_WHEN: Record<number, string> = {
  400: "bad input: the message names the field and the value",
  401: "no valid bearer token",
  403: "the token's role does not allow this",
  404: "unknown id or name",
  409: "the flow is running elsewhere (its lease is held); try again when it is done",
  413: "body larger than the server's body limit",
};

export const RunCounts = obj(
  { read: int, created: int, updated: int, skipped: int, failed: int, calls: int },
  ["read", "created", "updated", "skipped", "failed", "calls"],
);

export const Run = obj(
  {
    id: int,
    flow: str,
    mode: { type: "string", enum: ["sync", "plan", "retry"] },
    status: { type: "string", enum: ["running", "succeeded", "failed", "partial", "interrupted"] },
    startedAt: str,
    finishedAt: nullable(str),
    counts: RunCounts,
    error: nullable(str),
  },
  ["id", "flow", "mode", "status", "startedAt", "finishedAt", "counts", "error"],
);

export const SyncEvent = obj(
  {
    id: int,
    runId: nullable(int),
    flow: str,
    entity: str,
    key: str,
    system: str,
    externalId: nullable(str),
    kind: str,
    message: nullable(str),
    detail: nullable(obj({}, [], true)),
    at: str,
  },
  ["flow", "entity", "key", "system", "kind", "at"],
);

export const Link = obj(
  {
    entity: str,
    key: str,
    system: str,
    externalId: str,
    lastHash: nullable(str),
    version: nullable(str),
    updatedAt: str,
  },
  ["entity", "key", "system", "externalId"],
);

export const Failure = obj(
  {
    id: int,
    flow: str,
    entity: str,
    key: str,
    sourceSystem: str,
    sourceId: str,
    sourcePayload: any,
    mappedPayload: any,
    errorKind: str,
    errorMessage: str,
    errorDetail: any,
    attempts: int,
    status: { type: "string", enum: ["open", "retrying", "resolved", "skipped"] },
    reason: nullable(str),
    firstFailedAt: str,
    lastFailedAt: str,
  },
  ["id", "flow", "entity", "key", "errorKind", "errorMessage", "attempts", "status"],
);

export const RetryOutcome = obj(
  {
    id: int,
    key: str,
    ok: { type: "boolean" },
    action: { type: "string", enum: ["created", "updated", "skipped", "failed", "held"] },
    message: nullable(str),
  },
  ["id", "key", "ok", "action", "message"],
);

export const RestoreOutcome = obj(
  {
    key: str,
    ok: { type: "boolean" },
    reactivated: { type: "array", items: str },
    recreated: { type: "array", items: str },
    action: { type: "string", enum: ["created", "updated", "skipped", "failed", "held"] },
    message: nullable(str),
  },
  ["key", "ok", "reactivated", "recreated", "action", "message"],
);

const RateLimit = nullable(
  obj({
    maximumAvailable: { type: "number" },
    currentlyAvailable: { type: "number" },
    restoreRatePerSecond: { type: "number" },
  }),
);

const Health = nullable(
  obj({ ok: { type: "boolean" }, checkedAt: str, error: nullable(str) }, ["ok", "checkedAt", "error"]),
);

/** The vendor API version a connection speaks (null where its connector cannot tell). */
const ApiVersion = nullable(
  obj({ api: str, version: str, supportedUntil: nullable(str), policy: str }, [
    "api",
    "version",
    "supportedUntil",
    "policy",
  ]),
);

export const Connection = obj(
  {
    name: str,
    type: str,
    flows: arr(str),
    health: Health,
    calls: obj(
      {
        sinceStart: int,
        today: int,
        todayByFlow: obj({}, [], true),
      },
      ["sinceStart", "today", "todayByFlow"],
    ),
    throttled: int,
    retries: nullable(int),
    rateLimit: RateLimit,
    budget: nullable(
      obj({ callsPerDay: int, usedToday: int, remaining: int, basis: str }, [
        "callsPerDay",
        "usedToday",
        "remaining",
        "basis",
      ]),
    ),
    apiVersion: ApiVersion,
  },
  ["name", "type", "flows", "health", "calls", "throttled", "rateLimit", "budget"],
);

export const PlanLine = obj(
  {
    key: str,
    action: { type: "string", enum: ["create", "update", "skip", "error", "hold", "filtered"] },
    sourceId: str,
    targetId: nullable(str),
    reason: str,
  },
  ["key", "action", "sourceId", "targetId"],
);

export const FlowInfo = obj(
  {
    name: str,
    entity: str,
    source: obj({ connection: str, entity: str }),
    target: obj({ connection: str, entity: str }),
    trigger: str,
    schedule: nullable(str),
    state: { type: "string", enum: ["running", "idle", "failing", "never-run"] },
    runningBy: nullable(str),
    lastRun: nullable(Run),
    nextRun: nullable(str),
    cursor: nullable(obj({ updatedAt: str, id: str })),
    lagSeconds: nullable({
      type: "number",
      description:
        "Seconds since the flow last caught up with its source (start of its last run that read everything and did not fail), or since the oldest webhook event still pending for it when older; never caught up: since its first run; null: never run",
    }),
    lagSince: nullable(str),
    lagBasis: nullable({ type: "string", enum: ["caught-up", "first-run", "pending-event"] }),
    openFailures: int,
    callsToday: int,
  },
  ["name", "entity", "state", "lastRun", "nextRun", "lagSeconds", "openFailures"],
);

export const Token = obj(
  {
    id: int,
    name: str,
    role: { type: "string", enum: [...ROLES] },
    createdAt: str,
    lastUsedAt: nullable(str),
    revokedAt: nullable(str),
  },
  ["id", "name", "role", "createdAt", "lastUsedAt", "revokedAt"],
);

export const AuditEntry = obj(
  {
    id: int,
    at: str,
    tokenId: nullable(int),
    actor: str,
    role: nullable(str),
    action: str,
    target: str,
    outcome: str,
  },
  ["id", "at", "tokenId", "actor", "role", "action", "target", "outcome"],
);

export const CallCount = obj({ day: str, connection: str, flow: str, calls: int }, [
  "day",
  "connection",
  "flow",
  "calls",
]);

export const Entity = { type: "string", enum: [...EntityName.options] };

export const Reason = obj({ reason: { type: "string", minLength: 1, maxLength: 2000 } }, ["reason"]);

export const FailureId = obj({ id: { type: "integer", minimum: 1 } }, ["id"]);
export const FlowName = obj({ name: str }, ["name"]);

/** Page size: `limit` (1..500, default 50) and `before` (an id: the page after it). */
export const Page = {
  limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
  before: { type: "integer", minimum: 1 },
};

/** The body of a mapping preview; zod checks it again to say which of sample/live is missing. */
export const PreviewBody = z
  .strictObject({
    sample: z.record(z.string(), z.unknown()).optional(),
    live: z.strictObject({ id: z.string().min(1) }).optional(),
    mapping: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((b) => (b.sample === undefined) !== (b.live === undefined), {
    message: "give exactly one of sample (a source record) or live: { id }",
  });

function jsonSchemaOf(schema: z.ZodType): Schema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-7", io: "input" }) as Schema;
  return rest;
}

export const PreviewBodySchema = jsonSchemaOf(PreviewBody);

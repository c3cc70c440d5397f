/**
 * Connection settings of the configurable REST connector: the base URL, the credentials (bearer token,
 * HTTP Basic, an API key in a header or the query, OAuth2 client credentials), the pace, and per canonical
 * entity how its records are listed (path, where the records are in the answer, pagination, the
 * incremental filter), looked up by id, mapped (`fields`, the flow mapping's rule language) and written.
 */
import { z } from "zod";
import { Mapping } from "../../core/mapping.ts";
import { entitySettings } from "../rows.ts";

/** A path below baseUrl: `/customers`, `/customers/{id}`. */
const Path = z.string().regex(/^\//, { message: "must be a path below baseUrl, starting with /" });

/**
 * A dotted path into a JSON value (`data.items`, `meta.next`); the empty string is the value itself (an
 * answer that is a JSON array).
 */
const Selector = z.string().regex(/^$|^[^.\s]+(\.[^.\s]+)*$/, {
  message: 'must be a dotted path such as data.items, or "" for the answer itself',
});

const Secret = (what: string) => z.string().min(1, { message: `${what} is empty` });

export const Auth = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  /** `Authorization: Bearer <token>`; use ${env:X}. */
  z.strictObject({ type: z.literal("bearer"), token: Secret("token") }),
  /** HTTP Basic (`Authorization: Basic …`), e.g. WooCommerce's consumer key and secret. */
  z.strictObject({ type: z.literal("basic"), username: z.string().min(1), password: Secret("password") }),
  /** An API key sent in a header (`header: X-Api-Key`) or a query parameter (`query: api_key`). */
  z
    .strictObject({
      type: z.literal("apiKey"),
      header: z.string().min(1).optional(),
      query: z.string().min(1).optional(),
      value: Secret("value"),
    })
    .refine((a) => (a.header === undefined) !== (a.query === undefined), {
      message: "give header (the header's name) or query (the parameter's name), one of the two",
      path: ["header"],
    }),
  /**
   * OAuth2 client credentials grant: a token from `tokenUrl`, kept until shortly before it expires, and
   * asked again once when the API refuses it (HTTP 401).
   */
  z.strictObject({
    type: z.literal("oauth2"),
    tokenUrl: z.url({ message: "must be the token endpoint's full URL" }),
    clientId: z.string().min(1),
    clientSecret: Secret("clientSecret"),
    scope: z.string().min(1).optional(),
    /** How the client authenticates at the token endpoint: HTTP Basic (default) or in the form body. */
    clientAuth: z.enum(["basic", "body"]).default("basic"),
  }),
]);
export type Auth = z.infer<typeof Auth>;

export const PAGINATION_STYLES = ["page", "offset", "cursor", "link", "none"] as const;

const Pagination = z.discriminatedUnion("style", [
  /** `?page=1&per_page=100`, until a short page (or the last page a header names). */
  z.strictObject({
    style: z.literal("page"),
    pageParam: z.string().min(1).default("page"),
    sizeParam: z.string().min(1).default("per_page"),
    firstPage: z.number().int().min(0).default(1),
    /** A header holding the number of pages (WooCommerce: X-WP-TotalPages). */
    totalPagesHeader: z.string().min(1).optional(),
  }),
  /** `?offset=0&limit=100`, until a short page. */
  z.strictObject({
    style: z.literal("offset"),
    offsetParam: z.string().min(1).default("offset"),
    limitParam: z.string().min(1).default("limit"),
  }),
  /** `?cursor=<next>&limit=100`, the next cursor read from the answer (`next`), until it is empty. */
  z.strictObject({
    style: z.literal("cursor"),
    cursorParam: z.string().min(1).default("cursor"),
    sizeParam: z.string().min(1).default("limit"),
    next: Selector.min(1, { message: "must say where the next cursor is in the answer, e.g. meta.next" }),
  }),
  /** The next page's URL in the Link header (RFC 8288, `rel="next"`), until there is none. */
  z.strictObject({
    style: z.literal("link"),
    sizeParam: z.string().min(1).default("per_page"),
    rel: z.string().min(1).default("next"),
  }),
  /** One call returns every record. */
  z.strictObject({ style: z.literal("none") }),
]);

export const TIME_FORMATS = ["iso", "iso-seconds", "iso-local", "epoch", "epoch-ms"] as const;

const Incremental = z.strictObject({
  /** The query parameter that asks for records changed since a time: `modified_after`, `updated_since`. */
  param: z.string().min(1),
  /**
   * How the time is written: `iso` 2026-12-03T09:30:00.000Z, `iso-seconds` 2026-12-03T09:30:00Z,
   * `iso-local` 2026-12-03T09:30:00 (UTC, without a zone), `epoch` seconds, `epoch-ms` milliseconds.
   */
  format: z.enum(TIME_FORMATS).default("iso"),
  /**
   * Sent this many seconds before the cursor: an exclusive filter (`after`) or one that keeps whole
   * seconds would otherwise miss records sharing the cursor's time. Records at or before the cursor are
   * dropped by the engine.
   */
  overlapSeconds: z.number().int().min(0).default(1),
});

const List = z.strictObject({
  path: Path,
  /** Where the records are in the answer: `data`, `result.items`; "" when the answer is the array. */
  records: Selector.default(""),
  /** Query parameters sent with every list call (`role: all`, `dates_are_gmt: "true"`). */
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  pagination: Pagination.default({ style: "none" }),
  /** The largest page the API gives. */
  maxPageSize: z.number().int().min(1).default(100),
  incremental: Incremental.optional(),
  /**
   * The API returns records in ascending change time order with these params (`orderby: modified`), so
   * the engine may move its cursor after every page and read only what changed since. Ties (records of
   * one instant, in any order) are put in id order by the stream. Default false: every run reads the
   * whole list and the engine skips the records it has seen unchanged.
   */
  sorted: z.boolean().default(false),
});

const WriteCall = (method: readonly [string, ...string[]], fallback: string) =>
  z.strictObject({ method: z.enum(method).default(fallback as never), path: Path });

const Write = z.strictObject({
  create: WriteCall(["POST", "PUT"], "POST"),
  update: WriteCall(["PUT", "PATCH", "POST"], "PUT"),
  /** Canonical record → request body, in the rule language; the body holds exactly the fields set. */
  fields: Mapping,
  /** The body is wrapped in an object under this name (`{ customer: {…} }`). */
  wrap: z.string().min(1).optional(),
  /** Where the written record is in the answer ("" the answer itself), for its id. */
  response: Selector.default(""),
  /**
   * How a record written earlier is found by its external reference (the canonical key), so a crash
   * between the write and the link store's record never creates it twice: a list call with `param` set to
   * the reference, kept when the record's `field` equals it (case-insensitively).
   */
  findBy: z
    .strictObject({
      path: Path.optional(),
      param: z.string().min(1),
      field: z.string().min(1),
    })
    .optional(),
});

export const EntitySettings = z.strictObject({
  list: List,
  /** One record by its id; default: the list path and `/{id}`. */
  get: z
    .strictObject({
      path: Path.regex(/\{id\}/, { message: "must hold {id}, where the record's id goes" }),
      /** Where the record is in the answer: `data`; "" when the answer is the record. */
      record: Selector.default(""),
    })
    .optional(),
  /** The field holding the record's id. */
  id: Selector.min(1).default("id"),
  /**
   * The field holding the record's last change (ISO 8601; without a zone it is read as UTC; or epoch
   * seconds): the records' updatedAt and the incremental cursor. A list: the first that is set
   * (`[date_modified_gmt, date_created_gmt]`).
   */
  updatedAt: z.union([Selector.min(1), z.array(Selector.min(1)).min(1)]),
  /**
   * Record → canonical, in the flow mapping's rule language (`email: email`, `lastName: last_name`). The
   * canonical record holds exactly the fields set (plus source, sourceId, updatedAt and the key).
   */
  fields: Mapping,
  /** Writing: absent, the entity is read only. */
  write: Write.optional(),
});
export type EntitySettings = z.infer<typeof EntitySettings>;

export const RestConfig = z
  .strictObject({
    /** The API's root: `https://shop.example/wp-json/wc/v3`. */
    baseUrl: z.url({ message: "must be a full URL such as https://api.example.com/v1" }),
    auth: Auth.default({ type: "none" }),
    /** Headers sent with every call. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Whole-call timeout. */
    timeoutMs: z.number().int().positive().default(30_000),
    /** The pace the API allows: calls per second and calls in flight. Absent: 4 in flight, unpaced. */
    rateLimit: z
      .strictObject({
        perSecond: z.number().positive().optional(),
        concurrency: z.number().int().positive().max(64).default(4),
      })
      .optional(),
    /** An OpenAPI 3 document describing the API (URL or file path), for `passerelle discover`. */
    openapi: z.string().min(1).optional(),
    /** The path `check` calls; default: the first entity's list path. */
    checkPath: Path.optional(),
    entities: entitySettings(
      EntitySettings,
      "Per canonical entity (customer, product, …): how it is listed, looked up, mapped, written",
    ),
  })
  .superRefine((c, ctx) => {
    if (Object.keys(c.entities).length === 0) {
      ctx.addIssue({ code: "custom", path: ["entities"], message: "configure one entity at least" });
    }
  });
export type RestConfig = z.infer<typeof RestConfig>;
export type RestConfigInput = z.input<typeof RestConfig>;

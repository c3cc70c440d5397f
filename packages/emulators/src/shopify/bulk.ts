/**
 * Bulk mutations as the Admin API runs them: `stagedUploadsCreate` (resource BULK_MUTATION_VARIABLES) hands
 * out a POST target on this emulator; the JSONL of variables (one JSON object per line) is uploaded there
 * as multipart/form-data, the target's parameters first and the file last; `bulkOperationRunMutation`
 * takes the mutation and the upload's `key` as `stagedUploadPath`, and runs every line in the background.
 * Progress is read with `currentBulkOperation(type: MUTATION)` or `node(id:)`; the result is a JSONL file
 * at the operation's `url`, one line per input line: `{"data":…,"__lineNumber":n}` (`errors` in place of
 * or beside `data` when a line failed). Documented limits kept: one bulk mutation at a time per shop
 * (OPERATION_IN_PROGRESS; API versions from 2026-01 allow up to five, this emulator stays at the stricter
 * one), a 100 MB JSONL file, a mutation document that is a single mutation field (INVALID_MUTATION).
 *
 * The document is parsed and validated against the schema once, when the operation is created; each line
 * is then executed with its own variables, coerced against the operation's variable definitions: a line
 * that is not a JSON object, or whose variables do not fit (wrong type, a required one missing, an unknown
 * input field), gets `errors` in the result file and does not run; the other lines run. Lines do not
 * charge the cost bucket (the calls that start and poll the operation do, like any call). Lines that
 * change the shop raise webhooks (products/create, …) as a write call does.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type DocumentNode,
  executeSync,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  parse,
  validate,
} from "graphql";
import { z } from "zod";
import type { ExecContext } from "./mutations.ts";
import { shopifySchema } from "./schema.ts";
import type { Src } from "./views.ts";

/** Shopify's limit on a bulk mutation's JSONL file. */
export const BULK_FILE_MAX_BYTES = 100 * 1024 * 1024;
const UPLOAD_PATH = "/staged-uploads/bulk";
const RESULT_PATH = "/bulk-results/";
/** Lines executed before the loop yields to the server, so polls are answered while a job runs. */
const LINES_PER_TICK = 200;

type Status = "CREATED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELED" | "CANCELING" | "EXPIRED";

interface BulkOperationRec {
  id: string;
  status: Status;
  query: string;
  createdAt: string;
  completedAt: string | null;
  objectCount: number;
  rootObjectCount: number;
  errorCode: "ACCESS_DENIED" | "INTERNAL_SERVER_ERROR" | "TIMEOUT" | null;
  result: string | null;
  clientIdentifier: string | null;
}

const StagedArgs = z.object({
  input: z.array(
    z.object({
      resource: z.string(),
      filename: z.string(),
      mimeType: z.string(),
      httpMethod: z.string().nullish(),
      fileSize: z.union([z.string(), z.number()]).nullish(),
    }),
  ),
});

const RunArgs = z.object({
  mutation: z.string(),
  stagedUploadPath: z.string(),
  clientIdentifier: z.string().nullish(),
  groupObjects: z.boolean().nullish(),
});

const fieldResolver: GraphQLFieldResolver<unknown, ExecContext> = (source, args, ctx, info) => {
  if (typeof source !== "object" || source === null) return null;
  const value: unknown = Reflect.get(source, info.fieldName);
  return typeof value === "function" ? Reflect.apply(value, source, [args, ctx]) : value;
};

export interface BulkStats {
  operations: number;
  lines: number;
  uploads: number;
}

export class BulkOperations {
  private readonly uploads = new Map<string, Buffer>();
  private readonly operations = new Map<string, BulkOperationRec>();
  private current: BulkOperationRec | null = null;
  readonly stats: BulkStats = { operations: 0, lines: 0, uploads: 0 };
  /** Called with the finished operation (the `bulk_operations/finish` moment). */
  onFinish: ((op: { id: string; status: Status; errorCode: string | null }) => void) | null = null;
  /** Called after lines changed the shop (at most once per batch of lines), as a write call does. */
  onWrite: (() => void) | null = null;

  constructor(
    private readonly baseUrl: () => string,
    private readonly mutationRoot: () => unknown,
    private readonly now: () => string,
  ) {}

  private view(op: BulkOperationRec): Src {
    return {
      __typename: "BulkOperation",
      id: op.id,
      status: op.status,
      type: "MUTATION",
      query: op.query,
      createdAt: op.createdAt,
      completedAt: op.completedAt,
      objectCount: String(op.objectCount),
      rootObjectCount: String(op.rootObjectCount),
      errorCode: op.errorCode,
      fileSize: op.result === null ? null : String(Buffer.byteLength(op.result)),
      url: op.result === null ? null : `${this.baseUrl()}${RESULT_PATH}${encodeURIComponent(op.id)}.jsonl`,
      partialDataUrl: null,
    };
  }

  /** Root query fields. */
  queries(): Src {
    return {
      currentBulkOperation: (a: { type?: string | null }) => {
        if (a.type === "QUERY") return null;
        const latest = [...this.operations.values()].at(-1);
        return latest ? this.view(latest) : null;
      },
      bulkOperation: (a: { id: string }) => {
        const op = this.operations.get(a.id);
        return op ? this.view(op) : null;
      },
      node: (a: { id: string }) => {
        const op = this.operations.get(a.id);
        return op ? this.view(op) : null;
      },
    };
  }

  /** Root mutation fields. */
  mutations(): Src {
    return {
      stagedUploadsCreate: (raw: unknown) => {
        const { input } = StagedArgs.parse(raw);
        const userErrors: { field: string[]; message: string }[] = [];
        const targets = input.map((i, n) => {
          if (i.resource !== "BULK_MUTATION_VARIABLES") {
            userErrors.push({
              field: ["input", String(n), "resource"],
              message: `the emulator stages only BULK_MUTATION_VARIABLES, not ${i.resource}`,
            });
            return null;
          }
          const key = `tmp/emulator/bulk/${randomUUID()}/${i.filename}`;
          return {
            url: `${this.baseUrl()}${UPLOAD_PATH}`,
            resourceUrl: `${this.baseUrl()}${UPLOAD_PATH}/${key}`,
            parameters: [
              { name: "Content-Type", value: i.mimeType },
              { name: "success_action_status", value: "201" },
              { name: "acl", value: "private" },
              { name: "key", value: key },
              { name: "policy", value: Buffer.from(key).toString("base64") },
            ],
          };
        });
        if (userErrors.length > 0) return { stagedTargets: null, userErrors };
        return { stagedTargets: targets, userErrors: [] };
      },
      bulkOperationRunMutation: (raw: unknown, ctx: ExecContext) => {
        const args = RunArgs.parse(raw);
        const fail = (code: string, message: string, field: string[] | null = null) => ({
          bulkOperation: null,
          userErrors: [{ field, message, code }],
        });
        if (this.current !== null)
          return fail(
            "OPERATION_IN_PROGRESS",
            `A bulk mutation operation for this app and shop is already in progress: ${this.current.id}.`,
          );
        let doc: DocumentNode;
        try {
          doc = parse(args.mutation);
        } catch (e) {
          return fail("INVALID_MUTATION", `Invalid mutation: ${(e as Error).message}`, ["mutation"]);
        }
        const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
        const op = ops[0];
        if (ops.length !== 1 || op?.kind !== Kind.OPERATION_DEFINITION || op.operation !== "mutation")
          return fail("INVALID_MUTATION", "Bulk mutations must contain exactly one mutation.", ["mutation"]);
        if (op.selectionSet.selections.length !== 1)
          return fail("INVALID_MUTATION", "Bulk mutations may call exactly one mutation field.", [
            "mutation",
          ]);
        const invalid = validate(shopifySchema(), doc);
        if (invalid.length > 0)
          return fail("INVALID_MUTATION", invalid.map((e) => e.message).join("; "), ["mutation"]);
        const file = this.uploads.get(args.stagedUploadPath);
        if (file === undefined)
          return fail("NO_SUCH_FILE", `The JSONL file could not be found: ${args.stagedUploadPath}`, [
            "stagedUploadPath",
          ]);
        this.uploads.delete(args.stagedUploadPath);
        const rec: BulkOperationRec = {
          id: `gid://shopify/BulkOperation/${this.operations.size + 1}`,
          status: "CREATED",
          query: args.mutation,
          createdAt: this.now(),
          completedAt: null,
          objectCount: 0,
          rootObjectCount: 0,
          errorCode: null,
          result: null,
          clientIdentifier: args.clientIdentifier ?? null,
        };
        this.operations.set(rec.id, rec);
        this.current = rec;
        this.stats.operations++;
        ctx.wrote = true;
        setImmediate(() => void this.run(rec, doc, file));
        return { bulkOperation: this.view(rec), userErrors: [] };
      },
    };
  }

  private async run(rec: BulkOperationRec, doc: DocumentNode, file: Buffer): Promise<void> {
    rec.status = "RUNNING";
    const out: string[] = [];
    const lines = file.toString("utf8").split("\n");
    // The document was parsed and validated once, when the operation was created; each line only has its
    // variables coerced against the operation's variable definitions (execute does that) and runs.
    const schema = shopifySchema();
    const rootValue = this.mutationRoot();
    try {
      let n = 0;
      let wrote = false;
      for (const [lineNumber, line] of lines.entries()) {
        if (line.trim() === "") continue;
        const ctx: ExecContext = { wrote: false, idempotencyKey: null };
        out.push(
          JSON.stringify({ ...executeLine(schema, rootValue, doc, line, ctx), __lineNumber: lineNumber }),
        );
        wrote ||= ctx.wrote;
        rec.objectCount++;
        rec.rootObjectCount++;
        this.stats.lines++;
        if (++n % LINES_PER_TICK === 0) {
          if (wrote) this.onWrite?.();
          wrote = false;
          await new Promise((r) => setImmediate(r));
        }
      }
      if (wrote) this.onWrite?.();
      rec.result = out.length > 0 ? `${out.join("\n")}\n` : "";
      rec.status = "COMPLETED";
    } catch {
      rec.status = "FAILED";
      rec.errorCode = "INTERNAL_SERVER_ERROR";
    }
    rec.completedAt = this.now();
    this.current = null;
    this.onFinish?.({ id: rec.id, status: rec.status, errorCode: rec.errorCode });
  }

  /** Serves the staged upload target and the result files; false when the request is not for them. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (req.method === "POST" && url.pathname === UPLOAD_PATH) {
      void this.receive(req, res);
      return true;
    }
    if (req.method === "GET" && url.pathname.startsWith(RESULT_PATH)) {
      const id = decodeURIComponent(url.pathname.slice(RESULT_PATH.length).replace(/\.jsonl$/, ""));
      const op = this.operations.get(id);
      if (op?.result === null || op === undefined) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("NoSuchKey");
        return true;
      }
      res.writeHead(200, { "content-type": "application/jsonl" });
      res.end(op.result);
      return true;
    }
    return false;
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, text: string) => {
      res.writeHead(status, { "content-type": "application/xml" });
      res.end(text);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
      size += b.length;
      if (size > BULK_FILE_MAX_BYTES + 64 * 1024) {
        reply(400, "<Error><Code>EntityTooLarge</Code></Error>");
        return;
      }
      chunks.push(b);
    }
    let form: FormData;
    try {
      form = await new Request("http://emulator/upload", {
        method: "POST",
        headers: { "content-type": String(req.headers["content-type"] ?? "") },
        body: Buffer.concat(chunks),
      }).formData();
    } catch {
      reply(400, "<Error><Code>MalformedPOSTRequest</Code></Error>");
      return;
    }
    const key = form.get("key");
    const file = form.get("file");
    if (typeof key !== "string" || file === null || typeof file === "string") {
      reply(400, "<Error><Code>InvalidArgument</Code><Message>key and file are required</Message></Error>");
      return;
    }
    const body = Buffer.from(await file.arrayBuffer());
    if (body.length > BULK_FILE_MAX_BYTES) {
      reply(400, "<Error><Code>EntityTooLarge</Code></Error>");
      return;
    }
    this.uploads.set(key, body);
    this.stats.uploads++;
    reply(201, `<PostResponse><Key>${key}</Key></PostResponse>`);
  }
}

/**
 * One line of a bulk mutation: the line must be a JSON object of the mutation's variables; they are coerced
 * against the variable definitions (a wrong type or a missing required variable is that line's `errors`,
 * and the line does not run), then the mutation runs with them.
 */
function executeLine(
  schema: GraphQLSchema,
  rootValue: unknown,
  doc: DocumentNode,
  line: string,
  ctx: ExecContext,
): { data?: unknown; errors?: GraphQLFormattedError[] } {
  let variables: unknown;
  try {
    variables = JSON.parse(line);
  } catch (e) {
    return { errors: [{ message: `line is not JSON: ${(e as Error).message}` }] };
  }
  if (typeof variables !== "object" || variables === null || Array.isArray(variables))
    return { errors: [{ message: "each line must be a JSON object of the mutation's variables" }] };
  const result = executeSync({
    schema,
    document: doc,
    rootValue,
    contextValue: ctx,
    variableValues: variables as Record<string, unknown>,
    fieldResolver,
  });
  return {
    ...(result.data ? { data: result.data } : {}),
    ...(result.errors?.length ? { errors: result.errors.map((e) => e.toJSON()) } : {}),
  };
}

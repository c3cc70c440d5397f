/**
 * Executes a request the way the Admin API answers it: parse and validate against the official schema
 * (errors array on failure), price it, charge the bucket or refuse with "Throttled", then execute with
 * graphql-js over the in-memory shop. Every answer carries `extensions.cost`.
 */
import {
  type DocumentNode,
  execute,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  Kind,
  NoDeprecatedCustomRule,
  parse,
  Source,
  validate,
  valueFromASTUntyped,
} from "graphql";
import type { LeakyBucket } from "./bucket.ts";
import { actualQueryCost, requestedQueryCost, SINGLE_QUERY_MAX_COST } from "./cost.ts";
import type { ExecContext } from "./mutations.ts";
import { shopifySchema } from "./schema.ts";

export interface GraphQLRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

export interface GraphQLAnswer {
  body: Record<string, unknown>;
  cost: number;
  throttled: boolean;
  wrote: boolean;
  /**
   * The deprecated fields, arguments and enum values the document used (as Shopify reports them in the
   * X-Shopify-API-Deprecated-Reason header); empty when none.
   */
  deprecated?: string[];
}

const fieldResolver: GraphQLFieldResolver<unknown, ExecContext> = (source, args, ctx, info) => {
  if (typeof source !== "object" || source === null) return null;
  const value: unknown = Reflect.get(source, info.fieldName);
  return typeof value === "function" ? Reflect.apply(value, source, [args, ctx]) : value;
};

function idempotencyKey(doc: DocumentNode, variables: Record<string, unknown>): string | null {
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION || def.operation !== "mutation") continue;
    for (const sel of def.selectionSet.selections) {
      if (sel.kind !== Kind.FIELD) continue;
      const dir = sel.directives?.find((d) => d.name.value === "idempotent");
      const arg = dir?.arguments?.find((a) => a.name.value === "key");
      if (arg) {
        const v = valueFromASTUntyped(arg.value, variables);
        if (typeof v === "string") return v;
      }
    }
  }
  return null;
}

function errorsOf(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
  return errors.map((e) => e.toJSON());
}

/**
 * The schema coordinate graphql-js names in a deprecation message ("Shop.products", "Query.orders(reverse:)",
 * "OrderSortKeys.ID"), the form Shopify lists in X-Shopify-API-Deprecated-Reason since 2025-04.
 */
function coordinate(message: string): string {
  const arg = /^Field "([\w.]+)" argument "(\w+)"/.exec(message);
  if (arg) return `${arg[1]}(${arg[2]}:)`;
  const named = /^The (?:input field|field|enum value|argument) "?([\w.()]+?)"? is deprecated/.exec(message);
  return named?.[1] ?? message;
}

export function runGraphQL(
  req: GraphQLRequest,
  roots: { query: unknown; mutation: unknown },
  bucket: LeakyBucket,
): GraphQLAnswer {
  const schema = shopifySchema();
  const variables = req.variables ?? {};
  const costExt = (requested: number, actual: number | null) => ({
    cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: bucket.status() },
  });
  let doc: DocumentNode;
  try {
    doc = parse(new Source(req.query, "query"));
  } catch (err) {
    const e = err instanceof GraphQLError ? err : new GraphQLError(String(err));
    return { body: { errors: errorsOf([e]) }, cost: 0, throttled: false, wrote: false };
  }
  const invalid = validate(schema, doc);
  if (invalid.length > 0)
    return { body: { errors: errorsOf(invalid) }, cost: 0, throttled: false, wrote: false };
  // The schema's own @deprecated markers decide, as they do at Shopify.
  const deprecated = validate(schema, doc, [NoDeprecatedCustomRule]).map((e) => coordinate(e.message));
  const cost = requestedQueryCost(schema, doc, variables, req.operationName ?? undefined);
  if (cost > SINGLE_QUERY_MAX_COST) {
    return {
      body: {
        errors: [
          {
            message: `Query cost is ${cost}, which exceeds the single query max cost limit (${SINGLE_QUERY_MAX_COST}).

See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the
cost of a query is calculated.

To query larger amounts of data with fewer limits, bulk operations should be used instead.
See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.
`,
            extensions: { code: "MAX_COST_EXCEEDED", cost, maxCost: SINGLE_QUERY_MAX_COST },
          },
        ],
      },
      cost: 0,
      throttled: false,
      wrote: false,
    };
  }
  if (!bucket.take(cost)) {
    return {
      body: {
        errors: [
          {
            message: "Throttled",
            extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" },
          },
        ],
        extensions: costExt(cost, null),
      },
      cost: 0,
      throttled: true,
      wrote: false,
    };
  }
  const ctx: ExecContext = { wrote: false, idempotencyKey: idempotencyKey(doc, variables) };
  const isMutation = doc.definitions.some(
    (d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === "mutation",
  );
  const result = execute({
    schema,
    document: doc,
    rootValue: isMutation ? roots.mutation : roots.query,
    contextValue: ctx,
    variableValues: variables,
    operationName: req.operationName ?? undefined,
    fieldResolver,
  });
  if (result instanceof Promise) throw new Error("the emulator's resolvers are synchronous");
  const body: Record<string, unknown> = { data: result.data ?? null };
  if (result.errors && result.errors.length > 0) body.errors = errorsOf(result.errors);
  // Charged the requested cost up front; what the answer did not use goes back to the bucket.
  const actual = Math.min(
    cost,
    actualQueryCost(schema, doc, result.data, variables, req.operationName ?? undefined),
  );
  bucket.refund(cost - actual);
  body.extensions = costExt(cost, actual);
  return { body, cost: actual, throttled: false, wrote: ctx.wrote, deprecated };
}

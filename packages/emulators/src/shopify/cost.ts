/**
 * The emulator's model of Shopify's calculated query cost, written from Shopify's published rate-limit
 * rules and not shared with the connector (which prices its own documents separately), so that a wrong
 * model on one side shows up as a disagreement instead of agreeing with itself:
 *
 * - a scalar or an enum costs 0;
 * - an object costs 1, plus what is selected inside it;
 * - an interface or a union costs the most expensive of its possible selections;
 * - a connection is sized by its `first` or `last` argument: 2, plus that many times the cost of one item
 *   (a `nodes` element, or an edge's `node`; the edge itself and `pageInfo` are in the 2);
 * - a mutation costs 10 per mutation field;
 * - the requested cost is taken before a query runs; the actual cost charges each connection for the items
 *   it returned, and the difference is given back to the bucket;
 * - a single query may not request more than 1,000 points.
 */
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isLeafType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  valueFromASTUntyped,
} from "graphql";

export const MUTATION_FIELD_COST = 10;
export const OBJECT_COST = 1;
export const CONNECTION_BASE_COST = 2;
export const SINGLE_QUERY_MAX_COST = 1000;

interface Scope {
  schema: GraphQLSchema;
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

function isConnection(type: GraphQLNamedType): type is GraphQLObjectType {
  if (!isObjectType(type) || !type.name.endsWith("Connection")) return false;
  const fields = type.getFields();
  return "nodes" in fields || "edges" in fields;
}

/** Whether a fragment with type condition `condition` applies to an object of type `concrete`. */
function applies(scope: Scope, condition: string | undefined, concrete: GraphQLObjectType): boolean {
  if (condition === undefined || condition === concrete.name) return true;
  const cond = scope.schema.getType(condition);
  return cond !== undefined && isAbstractType(cond) && scope.schema.isSubType(cond, concrete);
}

/** The fields selected on an object of type `concrete`, fragments that apply to it flattened. */
function fieldsOn(
  scope: Scope,
  concrete: GraphQLObjectType,
  selections: readonly SelectionNode[],
): FieldNode[] {
  const out: FieldNode[] = [];
  for (const sel of selections) {
    if (sel.kind === Kind.FIELD) out.push(sel);
    else if (sel.kind === Kind.INLINE_FRAGMENT) {
      if (applies(scope, sel.typeCondition?.name.value, concrete))
        out.push(...fieldsOn(scope, concrete, sel.selectionSet.selections));
    } else {
      const frag = scope.fragments.get(sel.name.value);
      if (frag && applies(scope, frag.typeCondition.name.value, concrete))
        out.push(...fieldsOn(scope, concrete, frag.selectionSet.selections));
    }
  }
  return out;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/**
 * Cost of what is selected inside a value of type `type` (the value's own object point not included).
 * `data` is the value returned, for the actual cost; undefined for the requested cost.
 */
function inside(
  scope: Scope,
  type: GraphQLCompositeType,
  selections: readonly SelectionNode[],
  data: Record<string, unknown> | undefined,
  returned: boolean,
): number {
  const concretes = isObjectType(type) ? [type] : scope.schema.getPossibleTypes(type);
  let most = 0;
  for (const concrete of concretes) {
    let total = 0;
    for (const field of fieldsOn(scope, concrete, selections))
      total += fieldCost(scope, concrete, field, data, returned);
    most = Math.max(most, total);
  }
  return most;
}

function pageSize(scope: Scope, field: FieldNode): number {
  for (const name of ["first", "last"]) {
    const arg = field.arguments?.find((a) => a.name.value === name);
    if (arg === undefined) continue;
    const v = valueFromASTUntyped(arg.value, scope.variables);
    if (typeof v === "number") return v;
  }
  return 0;
}

function fieldCost(
  scope: Scope,
  parent: GraphQLObjectType,
  field: FieldNode,
  data: Record<string, unknown> | undefined,
  returned: boolean,
): number {
  const def = parent.getFields()[field.name.value];
  if (def === undefined) return 0; // __typename and other meta fields are free
  const type = getNamedType(def.type);
  if (isLeafType(type)) return 0;
  const value = returned ? data?.[field.alias?.value ?? field.name.value] : undefined;
  if (returned && (value === null || value === undefined)) return 0;
  const selections = field.selectionSet?.selections ?? [];
  if (isConnection(type)) return CONNECTION_BASE_COST + connectionItems(scope, type, field, value, returned);
  if (!returned) return OBJECT_COST + inside(scope, type, selections, undefined, false);
  const values = Array.isArray(value) ? value : [value];
  let total = 0;
  for (const v of values) total += OBJECT_COST + inside(scope, type, selections, record(v), true);
  return total;
}

/** The items of a connection: `first`/`last` times one item, or the items that came back. */
function connectionItems(
  scope: Scope,
  type: GraphQLObjectType,
  field: FieldNode,
  value: unknown,
  returned: boolean,
): number {
  const fields = type.getFields();
  const conn = record(value);
  let perPage = 0;
  for (const sub of fieldsOn(scope, type, field.selectionSet?.selections ?? [])) {
    const name = sub.name.value;
    if (name !== "nodes" && name !== "edges") continue;
    const subType = fields[name] && getNamedType(fields[name].type);
    if (subType === undefined || isLeafType(subType)) continue;
    const items = returned ? conn?.[sub.alias?.value ?? name] : undefined;
    const list = Array.isArray(items) ? items : [];
    const one = (item: Record<string, unknown> | undefined): number => {
      if (name === "nodes")
        return OBJECT_COST + inside(scope, subType, sub.selectionSet?.selections ?? [], item, returned);
      // An edge is free; its `node` is the object paid for.
      return inside(scope, subType, sub.selectionSet?.selections ?? [], item, returned);
    };
    if (!returned) perPage += pageSize(scope, field) * one(undefined);
    else for (const item of list) perPage += one(record(item));
  }
  return perPage;
}

function operation(
  doc: DocumentNode,
  operationName: string | undefined,
): OperationDefinitionNode | undefined {
  return doc.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (operationName === undefined || d.name?.value === operationName),
  );
}

function cost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  data: unknown,
  returned: boolean,
): number {
  const op = operation(doc, operationName);
  if (op === undefined) return 0;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const scope: Scope = { schema, fragments, variables };
  if (op.operation === "mutation") {
    const root = schema.getMutationType();
    return root ? fieldsOn(scope, root, op.selectionSet.selections).length * MUTATION_FIELD_COST : 0;
  }
  const root = op.operation === "query" ? schema.getQueryType() : schema.getSubscriptionType();
  if (!root) return 0;
  return inside(scope, root, op.selectionSet.selections, returned ? record(data) : undefined, returned);
}

/** The cost Shopify takes before running the (single or named) operation in `doc`. */
export function requestedQueryCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  variables: Record<string, unknown> = {},
  operationName?: string,
): number {
  return cost(schema, doc, variables, operationName, undefined, false);
}

/** The cost of what the operation returned (`data`): each connection charged for the items it holds. */
export function actualQueryCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  data: unknown,
  variables: Record<string, unknown> = {},
  operationName?: string,
): number {
  return cost(schema, doc, variables, operationName, data, true);
}

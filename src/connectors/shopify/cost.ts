/**
 * Shopify's requested query cost, computed the documented way: an object costs 1, a scalar or enum 0, a
 * connection 2 plus its `first`/`last` times the cost of one node, and a mutation field 10. The client
 * estimates with it before a call (and cost-plans.ts precomputes it for the connector's own documents). The
 * Shopify emulator charges with a model of its own (packages/emulators), so the two are checked against
 * each other rather than sharing one.
 */
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  getNamedType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  valueFromASTUntyped,
} from "graphql";

export const MUTATION_COST = 10;
/** Shopify rejects any single query whose requested cost exceeds this. */
export const SINGLE_QUERY_MAX_COST = 1000;

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

function fieldsOf(type: GraphQLCompositeType): Record<string, GraphQLField<unknown, unknown>> {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields() : {};
}

/** The selected fields, with fragments flattened, each paired with the type it is selected on. */
function collect(
  w: Walk,
  type: GraphQLCompositeType,
  set: SelectionSetNode | undefined,
  out: { node: FieldNode; on: GraphQLCompositeType }[] = [],
): { node: FieldNode; on: GraphQLCompositeType }[] {
  for (const sel of set?.selections ?? []) {
    if (sel.kind === Kind.FIELD) out.push({ node: sel, on: type });
    else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const cond = sel.typeCondition ? w.schema.getType(sel.typeCondition.name.value) : type;
      collect(w, cond && isCompositeType(cond) ? cond : type, sel.selectionSet, out);
    } else {
      const frag = w.fragments.get(sel.name.value);
      if (frag === undefined) continue;
      const cond = w.schema.getType(frag.typeCondition.name.value);
      collect(w, cond && isCompositeType(cond) ? cond : type, frag.selectionSet, out);
    }
  }
  return out;
}

function sizeArg(w: Walk, node: FieldNode): number {
  for (const name of ["first", "last"]) {
    const arg = node.arguments?.find((a) => a.name.value === name);
    if (arg === undefined) continue;
    const v = valueFromASTUntyped(arg.value, w.variables);
    if (typeof v === "number") return v;
  }
  return 0;
}

function selectionCost(w: Walk, type: GraphQLCompositeType, set: SelectionSetNode | undefined): number {
  let total = 0;
  for (const { node, on } of collect(w, type, set)) {
    const def = fieldsOf(on)[node.name.value];
    if (def === undefined) continue;
    total += fieldCost(w, def, node);
  }
  return total;
}

function fieldCost(w: Walk, def: GraphQLField<unknown, unknown>, node: FieldNode): number {
  const named = getNamedType(def.type);
  if (!isCompositeType(named)) return 0;
  if (named.name.endsWith("Connection") && isObjectType(named)) {
    let perNode = 0;
    for (const { node: sub, on } of collect(w, named, node.selectionSet)) {
      const subDef = fieldsOf(on)[sub.name.value];
      const subType = subDef ? getNamedType(subDef.type) : undefined;
      if (subType === undefined || !isCompositeType(subType)) continue;
      if (sub.name.value === "nodes") perNode += 1 + selectionCost(w, subType, sub.selectionSet);
      // An edge is free; its node is the object being paid for.
      else if (sub.name.value === "edges") perNode += selectionCost(w, subType, sub.selectionSet);
    }
    return 2 + sizeArg(w, node) * perNode;
  }
  return 1 + selectionCost(w, named, node.selectionSet);
}

/** The (single or named) operation in `doc` and what walking it needs; null when there is none. */
function operationOf(
  schema: GraphQLSchema,
  doc: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
): { w: Walk; op: OperationDefinitionNode } | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const op = doc.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (operationName === undefined || d.name?.value === operationName),
  );
  return op ? { w: { schema, fragments, variables }, op } : null;
}

function rootOf(schema: GraphQLSchema, op: OperationDefinitionNode) {
  return op.operation === "query" ? schema.getQueryType() : schema.getSubscriptionType();
}

function mutationCost(w: Walk, op: OperationDefinitionNode): number {
  return (
    collect(w, w.schema.getMutationType() ?? w.schema.getQueryType()!, op.selectionSet).length * MUTATION_COST
  );
}

/** Cost of the operation in `doc`: mutations by their field count, queries by `walk` from the root. */
function operationCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  variables: Record<string, unknown>,
  operationName: string | undefined,
  walk: (w: Walk, root: GraphQLCompositeType, set: SelectionSetNode) => number,
): number {
  const found = operationOf(schema, doc, variables, operationName);
  if (!found) return 0;
  const { w, op } = found;
  if (op.operation === "mutation") return mutationCost(w, op);
  const root = rootOf(schema, op);
  return root ? walk(w, root, op.selectionSet) : 0;
}

/** Requested cost of the (single or named) operation in `doc`. */
export function requestedQueryCost(
  schema: GraphQLSchema,
  doc: DocumentNode,
  variables: Record<string, unknown> = {},
  operationName?: string,
): number {
  return operationCost(schema, doc, variables, operationName, (w, root, set) => selectionCost(w, root, set));
}

/**
 * A document's requested cost as a small function of its variables, so a client can price its documents
 * without the schema: `fixed` points plus, per connection, its page size (a literal or a variable, `first`
 * before `last`) times the plan of one node.
 */
export interface CostPlan {
  fixed: number;
  connections?: { size: (number | { variable: string })[]; perNode: CostPlan }[];
}

/** The plan of the (single or named) operation in `doc`; `planCost(plan, v)` equals `requestedQueryCost(…, v)`. */
export function costPlan(schema: GraphQLSchema, doc: DocumentNode, operationName?: string): CostPlan {
  const found = operationOf(schema, doc, {}, operationName);
  if (!found) return { fixed: 0 };
  const { w, op } = found;
  if (op.operation === "mutation") return { fixed: mutationCost(w, op) };
  const root = rootOf(schema, op);
  const plan: CostPlan = { fixed: 0 };
  if (root) selectionPlan(w, root, op.selectionSet, plan);
  return plan;
}

export function planCost(plan: CostPlan, variables: Record<string, unknown> = {}): number {
  let total = plan.fixed;
  for (const c of plan.connections ?? []) {
    let size = 0;
    for (const s of c.size) {
      const v = typeof s === "number" ? s : variables[s.variable];
      if (typeof v === "number") {
        size = v;
        break;
      }
    }
    total += size * planCost(c.perNode, variables);
  }
  return total;
}

function sizePlan(node: FieldNode): (number | { variable: string })[] {
  const out: (number | { variable: string })[] = [];
  for (const name of ["first", "last"]) {
    const arg = node.arguments?.find((a) => a.name.value === name);
    if (arg === undefined) continue;
    if (arg.value.kind === Kind.VARIABLE) out.push({ variable: arg.value.name.value });
    else {
      const v = valueFromASTUntyped(arg.value);
      if (typeof v === "number") out.push(v);
    }
  }
  return out;
}

/** Adds the cost of a selection to `plan`, as `selectionCost` computes it. */
function selectionPlan(
  w: Walk,
  type: GraphQLCompositeType,
  set: SelectionSetNode | undefined,
  plan: CostPlan,
): void {
  for (const { node, on } of collect(w, type, set)) {
    const def = fieldsOf(on)[node.name.value];
    if (def === undefined) continue;
    const named = getNamedType(def.type);
    if (!isCompositeType(named)) continue;
    if (named.name.endsWith("Connection") && isObjectType(named)) {
      const perNode: CostPlan = { fixed: 0 };
      for (const { node: sub, on: subOn } of collect(w, named, node.selectionSet)) {
        const subDef = fieldsOf(subOn)[sub.name.value];
        const subType = subDef ? getNamedType(subDef.type) : undefined;
        if (subType === undefined || !isCompositeType(subType)) continue;
        if (sub.name.value === "nodes") {
          perNode.fixed += 1;
          selectionPlan(w, subType, sub.selectionSet, perNode);
        } else if (sub.name.value === "edges") selectionPlan(w, subType, sub.selectionSet, perNode);
      }
      plan.fixed += 2;
      plan.connections = [...(plan.connections ?? []), { size: sizePlan(node), perNode }];
      continue;
    }
    plan.fixed += 1;
    selectionPlan(w, named, node.selectionSet, plan);
  }
}

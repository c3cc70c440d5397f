/**
 * passerelle.yaml as a YAML document with positions, refused with the line of the problem when it cannot
 * become a configuration safely: a syntax error, a key written twice in one mapping, or aliases that would
 * multiply the document ("billion laughs") or refer to themselves.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

export interface YamlProblem {
  message: string;
  /** Unknown when the parser itself failed. */
  line?: number;
}

export type ParsedYaml =
  | { doc: Document.Parsed; lineOf(offset: number): number; problems: [] }
  | { doc?: undefined; problems: YamlProblem[] };

/**
 * Aliases may make the document this many times larger than it is written, or this many values, whichever
 * is more: generous for a value map shared by several flows, while a bomb of a few lines asks for billions.
 */
export const ALIAS_EXPANSION = { factor: 10, floor: 1_000_000 } as const;

export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  let doc: Document.Parsed;
  try {
    // uniqueKeys: the library compares each new key with every earlier one of its mapping, which is
    // quadratic (a 100 000-entry value map took minutes); duplicateKeys() does it with one set per mapping.
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  } catch (e) {
    // The library's parser recurses once per line of a block written inside { } or [ ] (yaml 2.9.1).
    if (!(e instanceof RangeError)) throw e;
    const message = `the YAML parser ran out of stack; look for many "key: value" lines written inside { } or [ ]`;
    return { problems: [{ message }] };
  }
  const lineOf = (offset: number): number => lines.linePos(offset).line;
  const problems: YamlProblem[] = doc.errors.map((e) => ({ message: e.message, line: lineOf(e.pos[0]) }));
  if (problems.length === 0) {
    problems.push(...duplicateKeys(doc.contents, lineOf));
    const alias = aliasProblem(doc.contents);
    if (alias) problems.push({ message: alias.message, line: lineOf(alias.offset) });
  }
  return problems.length === 0 ? { doc, lineOf, problems: [] } : { problems };
}

/** Two scalar keys of one mapping with the same value, as the library's own check compares them. */
function duplicateKeys(root: unknown, lineOf: (offset: number) => number): YamlProblem[] {
  const out: YamlProblem[] = [];
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = pair.key.value;
          if (seen.has(key)) {
            out.push({
              message: `Map keys must be unique: ${JSON.stringify(String(key))} is written twice`,
              line: lineOf(pair.key.range?.[0] ?? 0),
            });
          }
          seen.add(key);
        }
        walk(pair.key);
        walk(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item);
    }
  };
  walk(root);
  return out;
}

class Stop {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

/**
 * Counts the values the document holds once every alias is replaced by what it names, in document order,
 * remembering the size of each anchored node, so the count costs one pass over the text as written however
 * far the aliases would expand. Stops at the alias where the count first goes over the limit.
 */
function aliasProblem(root: unknown): { message: string; offset: number } | null {
  let written = 0;
  // Scalars and collections are counted; a pair is only their container.
  const countWritten = (node: unknown): void => {
    if (isPair(node)) {
      countWritten(node.key);
      countWritten(node.value);
      return;
    }
    if (node !== null && typeof node === "object") written++;
    if (isMap(node) || isSeq(node)) for (const item of node.items) countWritten(item);
  };
  countWritten(root);
  const limit = Math.max(ALIAS_EXPANSION.floor, ALIAS_EXPANSION.factor * written);

  const anchors = new Map<string, object>();
  const sizes = new Map<object, number>();
  const open = new Set<object>();
  let total = 0;

  const walk = (node: unknown): void => {
    if (node === null || typeof node !== "object") return;
    if (isAlias(node)) {
      const offset = node.range?.[0] ?? 0;
      const source = anchors.get(node.source);
      if (source === undefined) {
        throw new Stop(`alias *${node.source} names no anchor written before it`, offset);
      }
      const size = sizes.get(source);
      if (size === undefined || open.has(source)) {
        throw new Stop(`alias *${node.source} is inside the value it names, which would never end`, offset);
      }
      total += size;
      if (total > limit) {
        throw new Stop(
          `alias *${node.source} repeats ${size.toLocaleString("en")} values; with it the document would hold more than ${limit.toLocaleString("en")} (it holds ${written.toLocaleString("en")} as written): refused as a YAML alias bomb`,
          offset,
        );
      }
      return;
    }
    const before = total;
    if (!isPair(node)) total++;
    const anchor = "anchor" in node && typeof node.anchor === "string" ? node.anchor : undefined;
    if (anchor !== undefined) {
      anchors.set(anchor, node);
      open.add(node);
    }
    if (isMap(node) || isSeq(node)) for (const item of node.items) walk(item);
    else if (isPair(node)) {
      walk(node.key);
      walk(node.value);
    }
    if (anchor !== undefined) {
      open.delete(node);
      sizes.set(node, total - before);
    }
  };

  try {
    walk(root);
    return null;
  } catch (e) {
    if (e instanceof Stop) return { message: e.message, offset: e.offset };
    throw e;
  }
}

/**
 * `passerelle discover <connection>`: the record shapes a connection's source describes (a database's
 * tables and columns, a file's header, an OpenAPI document's schemas), each with the canonical entity it
 * is configured for or looks like and a starter `fields:` mapping matched by name, to edit rather than
 * write from nothing. Reads only.
 */
import { stringify } from "yaml";
import { guessEntity, normaliseName, starterMapping } from "../../config/starter-mapping.ts";
import { SyncError } from "../../core/errors.ts";
import { ENTITIES, type EntityName } from "../../core/model.ts";
import type { DiscoveredShape } from "../../ports/discovery.ts";
import type { Context } from "../../runtime/context.ts";
import { EXIT, type Output } from "../output.ts";

export async function discoverCommand(
  ctx: Context,
  out: Output,
  connection: string,
  opts: { entity?: string; match?: string },
): Promise<number> {
  const connector = ctx.connectors.get(connection);
  if (!connector) {
    throw new SyncError(
      "config",
      `unknown connection ${JSON.stringify(connection)}; configured: ${[...ctx.connectors.keys()].join(", ")}`,
    );
  }
  if (!connector.discover) {
    throw new SyncError(
      "config",
      `connection ${connection} (${connector.kind}) has nothing to discover: its records are the ${connector.kind} API's own, described in docs/connectors/${connector.kind}.md`,
      { system: connection },
    );
  }
  if (opts.entity !== undefined && !(ENTITIES as readonly string[]).includes(opts.entity)) {
    throw new SyncError(
      "config",
      `--entity: unknown entity ${JSON.stringify(opts.entity)}; known: ${ENTITIES.join(", ")}`,
    );
  }
  let shapes = await connector.discover();
  if (opts.match !== undefined) {
    const want = normaliseName(opts.match);
    shapes = shapes.filter((s) => normaliseName(s.name).includes(want));
  }
  const results = shapes.map((shape) => {
    const entity = (opts.entity as EntityName | undefined) ?? shape.entity ?? guessEntity(shape);
    return { ...shape, entity, starter: entity ? starterMapping(entity, shape) : undefined };
  });
  out.result({ connection, kind: connector.kind, shapes: results }, () => human(connection, results));
  return EXIT.ok;
}

type Result = DiscoveredShape & { starter?: ReturnType<typeof starterMapping> };

function human(connection: string, results: Result[]): string {
  if (results.length === 0) return `${connection}: nothing found.`;
  const blocks = results.map((r) => {
    const lines = [`# ${r.name}${r.entity ? ` → ${r.entity}` : ""}`];
    if (r.key?.length) lines.push(`#   key: ${r.key.join(", ")}`);
    if (r.cursor?.length) lines.push(`#   cursor candidates: ${r.cursor.join(", ")}`);
    const width = Math.max(4, ...r.fields.map((f) => f.name.length));
    for (const f of r.fields) {
      const example = f.example !== undefined ? `  e.g. ${JSON.stringify(f.example.slice(0, 40))}` : "";
      lines.push(`#   ${f.name.padEnd(width)}  ${f.type}${f.nullable ? " (may be empty)" : ""}${example}`);
    }
    for (const n of r.notes ?? []) lines.push(`#   note: ${n}`);
    if (!r.starter) {
      lines.push("#   (no entity recognised: pass --entity to get a starter mapping)");
      return lines.join("\n");
    }
    lines.push("# starter mapping (canonical field: source field):");
    lines.push(stringify({ fields: r.starter.fields }, { lineWidth: 0 }).trimEnd());
    if (r.starter.missing.length) lines.push(`# still to map (required): ${r.starter.missing.join(", ")}`);
    if (r.starter.unused.length) lines.push(`# not mapped: ${r.starter.unused.join(", ")}`);
    return lines.join("\n");
  });
  return blocks.join("\n\n");
}

/**
 * JSON Schema of passerelle.yaml for editors (yaml-language-server: `# yaml-language-server:
 * $schema=passerelle.schema.json`), generated from the same zod schema the loader validates with, so the two
 * never disagree. "input" mode: fields with defaults are optional, as a person writes them.
 */
import { z } from "zod";
import type { ConnectorDefinition } from "../ports/connector.ts";
import { buildConfigSchema } from "./schema.ts";

export function configJsonSchema(definitions: readonly ConnectorDefinition[]): Record<string, unknown> {
  return {
    ...z.toJSONSchema(buildConfigSchema(definitions), { io: "input", unrepresentable: "any" }),
    title: "passerelle.yaml",
  };
}

/**
 * Every connector this build knows, all loaded: for `passerelle connectors`, the JSON Schema of
 * passerelle.yaml, the docs and the tests. The table of connectors is `registry.ts`; a run loads only the
 * connectors its configuration names (`connectorsForConfig`), so importing this module is for the commands
 * that need them all.
 */
import type { ConnectorDefinition } from "../ports/connector.ts";
import { loadConnectors } from "./registry.ts";

export const connectorDefinitions: readonly ConnectorDefinition[] = await loadConnectors();

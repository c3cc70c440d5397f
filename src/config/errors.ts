/** ConfigError lives in core (mappings are compiled there); the configuration layer re-exports it. */
export { ConfigError, type ConfigIssue } from "../core/errors.ts";

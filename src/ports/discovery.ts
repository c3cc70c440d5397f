/**
 * Schema discovery: what a connection can find out about the records it holds (a SQL catalogue's tables and
 * columns, a CSV file's header, an OpenAPI document's schemas), so `passerelle discover <connection>` can
 * print the entities and fields it found and a starter mapping, and a user does not write field lists by hand.
 */
import type { EntityName } from "../core/model.ts";

/** One field (column, property, element) of a discovered record shape. */
export interface DiscoveredField {
  /** As the source spells it (a column name, a dotted property path such as `address.city`). */
  name: string;
  /** The source's own type name (`integer`, `numeric(12,2)`, `string`, `date-time`…), or "unknown". */
  type: string;
  /** The source says the field may be empty. */
  nullable?: boolean;
  /** A value seen in the source (a CSV's first data row), to help a reader recognise the field. */
  example?: string;
}

/** One record shape found in the source: a table, a file pattern's header, an API path's schema. */
export interface DiscoveredShape {
  /** What the source calls it: `public.items`, `preise-*.csv`, `GET /contacts`. */
  name: string;
  /** The canonical entity it is configured for or looks like, when one can be told. */
  entity?: EntityName;
  fields: DiscoveredField[];
  /** The source's key (primary key columns, an `id` property). */
  key?: string[];
  /** Fields that order changes (an `updated_at` column), usable as a cursor for incremental reads. */
  cursor?: string[];
  /** Anything the user should know (a table without a primary key, a header with duplicate names). */
  notes?: string[];
}

/** Implemented by connectors whose source describes itself; see ConnectorSpec.discover. */
export type Discover<X> = (client: X, signal?: AbortSignal) => Promise<DiscoveredShape[]>;

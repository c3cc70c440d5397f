/**
 * Processed marks: named points in time a process leaves for the next one (the start of the last finished
 * reconciliation window of a flow, the last time a schedule fired). Durable, one row per name.
 */
export interface MarkStore {
  getMark(name: string): Promise<string | null>;
  setMark(name: string, mark: string): Promise<void>;
}

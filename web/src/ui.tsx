/** Small pieces every view uses: loading an API resource, showing its error, dates, JSON, hash links. */
import { type ReactNode, useCallback, useEffect, useState } from "react";
import { ApiError } from "./api.ts";

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Calls `load` when `deps` change (and on reload()); an error is kept and shown, never thrown. */
export function useApi<T>(load: () => Promise<T>, deps: readonly unknown[], refreshMs = 0): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `load` is rebuilt every render; deps say when it changes.
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e instanceof ApiError ? e : new ApiError(0, e instanceof Error ? e.message : String(e)));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (refreshMs <= 0) return;
    const t = setInterval(() => setTick((n) => n + 1), refreshMs);
    return () => clearInterval(t);
  }, [refreshMs]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

export function ErrorBox({ error }: { error: ApiError | Error | string | null }) {
  if (!error) return null;
  const status = error instanceof ApiError && error.status > 0 ? `${error.status} ` : "";
  const message = typeof error === "string" ? error : error.message;
  return (
    <div className="error" role="alert">
      {status}
      {message}
      {error instanceof ApiError && error.status === 401
        ? " — enter a token above (passerelle tokens create)"
        : ""}
    </div>
  );
}

/** The loading/error/content switch of a view fed by useApi. */
export function Show<T>({ r, children }: { r: Loaded<T>; children: (data: T) => ReactNode }) {
  if (r.error && r.data === null) return <ErrorBox error={r.error} />;
  if (r.data === null) return <p className="muted">Loading…</p>;
  return (
    <>
      {r.error ? <ErrorBox error={r.error} /> : null}
      {children(r.data)}
    </>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400 * 2) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function href(...parts: (string | number)[]): string {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join("/")}`;
}

export function Badge({ kind, children }: { kind: string; children?: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children ?? kind}</span>;
}

/**
 * The failed-records inbox: open failures (by flow), and one failure with its error, payloads and the
 * actions on it — retry, edit the mapped payload and retry, resync from the source, skip or resolve with a
 * reason, and for a two-way conflict both versions side by side with "take" either side.
 */
import { useState } from "react";
import { ApiError, api, type Failure, type RetryOutcome } from "../api.ts";
import { Badge, ErrorBox, href, Json, Show, useApi, when } from "../ui.tsx";

export function Failures({ flow, status }: { flow?: string; status?: string }) {
  const q = new URLSearchParams();
  if (flow) q.set("flow", flow);
  if (status) q.set("status", status);
  const list = useApi(() => api<{ failures: Failure[] }>("GET", `failures?${q}`), [flow, status], 10_000);
  return (
    <section>
      <h2>
        Failed records{flow ? ` of ${flow}` : ""}
        {status ? ` (${status})` : " (open)"}
      </h2>
      <p>
        <a href={href("failures")}>open</a> · <a href={`${href("failures")}?status=resolved`}>resolved</a> ·{" "}
        <a href={`${href("failures")}?status=skipped`}>skipped</a>
      </p>
      <Show r={list}>
        {({ failures }) =>
          failures.length === 0 ? (
            <p className="muted">Nothing here.</p>
          ) : (
            <table data-testid="failures">
              <thead>
                <tr>
                  <th>id</th>
                  <th>flow</th>
                  <th>record</th>
                  <th>type</th>
                  <th>error</th>
                  <th>attempts</th>
                  <th>last failed</th>
                </tr>
              </thead>
              <tbody>
                {failures.map((f) => (
                  <tr key={f.id}>
                    <td>
                      <a href={href("failure", f.id)}>#{f.id}</a>
                    </td>
                    <td>{f.flow}</td>
                    <td>
                      <a href={href("failure", f.id)}>{f.key}</a>
                    </td>
                    <td>
                      <Badge kind={f.errorKind} />
                    </td>
                    <td className="msg">{f.errorMessage}</td>
                    <td>{f.attempts}</td>
                    <td>{when(f.lastFailedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}

interface ConflictPayload {
  conflict: { fields: string[]; reason: string };
  sides: { a: string; b: string };
  ids: { a: string | null; b: string | null };
  base: unknown;
  versions: { a: Record<string, unknown> | null; b: Record<string, unknown> | null };
}

function isConflict(f: Failure): f is Failure & { sourcePayload: ConflictPayload } {
  const p = f.sourcePayload as Partial<ConflictPayload> | null | undefined;
  return f.errorKind === "conflict" && !!p && typeof p === "object" && !!p.sides && !!p.versions;
}

type Result = { kind: "outcome"; outcome: RetryOutcome } | { kind: "text"; text: string };

export function FailureView({ id }: { id: string }) {
  const failure = useApi(() => api<Failure>("GET", `failures/${encodeURIComponent(id)}`), [id]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<ApiError | string | null>(null);
  const [draft, setDraft] = useState<string | null>(null);
  const [reason, setReason] = useState("");

  const act = async (what: () => Promise<Result>) => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await what());
      setDraft(null);
      failure.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : String(e));
    } finally {
      setBusy(false);
    }
  };
  const path = `failures/${encodeURIComponent(id)}`;
  const outcome = (p: Promise<RetryOutcome>) => p.then((o): Result => ({ kind: "outcome", outcome: o }));

  return (
    <section>
      <h2>Failed record #{id}</h2>
      <Show r={failure}>
        {(f) => {
          const closed = f.status === "resolved" || f.status === "skipped";
          const text = draft ?? JSON.stringify(f.mappedPayload ?? null, null, 2);
          return (
            <>
              <p>
                <a href={href("trace", f.entity, f.key)}>
                  {f.entity} {f.key}
                </a>{" "}
                · flow {f.flow} · from {f.sourceSystem} id {f.sourceId} · <Badge kind={f.status} /> ·{" "}
                {f.attempts} attempt{f.attempts === 1 ? "" : "s"} · first {when(f.firstFailedAt)} · last{" "}
                {when(f.lastFailedAt)}
              </p>
              <div className="error" data-testid="failure-error">
                <Badge kind={f.errorKind} /> {f.errorMessage}
              </div>
              {f.reason ? <p>Reason: {f.reason}</p> : null}
              {result ? (
                <div
                  className={result.kind === "outcome" && !result.outcome.ok ? "error" : "ok"}
                  role="status"
                  data-testid="action-result"
                >
                  {result.kind === "outcome"
                    ? `${result.outcome.ok ? "Done" : "Failed again"}: ${result.outcome.action}${result.outcome.message ? ` — ${result.outcome.message}` : ""}`
                    : result.text}
                  {" — "}
                  <a href={href("trace", f.entity, f.key)}>see the record's lineage</a>
                </div>
              ) : null}
              <ErrorBox error={error} />
              {isConflict(f) ? (
                <Conflict
                  f={f}
                  disabled={busy || closed}
                  take={(side) =>
                    act(() =>
                      api<{ written: string[] }>("POST", `${path}/take`, { side }).then((r) => ({
                        kind: "text" as const,
                        text: `Resolved: written to ${r.written.length > 0 ? r.written.join(" and ") : "neither side (both already held it)"}`,
                      })),
                    )
                  }
                />
              ) : (
                <div className="panes">
                  <div>
                    <h3>As read from {f.sourceSystem}</h3>
                    <Json value={f.sourcePayload} />
                  </div>
                  <div>
                    <h3>Mapped (what the target receives) — edit and retry</h3>
                    <textarea
                      data-testid="mapped-editor"
                      value={text}
                      onChange={(e) => setDraft(e.target.value)}
                      rows={Math.min(30, text.split("\n").length + 2)}
                      spellCheck={false}
                      disabled={closed}
                    />
                  </div>
                </div>
              )}
              {closed ? null : (
                <div className="actions">
                  {isConflict(f) ? null : (
                    <>
                      <button
                        type="button"
                        disabled={busy}
                        onClick={() => act(() => outcome(api("POST", `${path}/retry`)))}
                      >
                        Retry
                      </button>
                      <button
                        type="button"
                        disabled={busy || draft === null}
                        onClick={() => {
                          let payload: unknown;
                          try {
                            payload = JSON.parse(text);
                          } catch (e) {
                            setError(`the edited payload is not valid JSON: ${(e as Error).message}`);
                            return;
                          }
                          void act(() => outcome(api("PUT", path, { mappedPayload: payload })));
                        }}
                      >
                        Save and retry
                      </button>
                      <button
                        type="button"
                        disabled={busy}
                        onClick={() => act(() => outcome(api("POST", `${path}/resync`)))}
                      >
                        Resync from {f.sourceSystem}
                      </button>
                    </>
                  )}
                  <input
                    value={reason}
                    onChange={(e) => setReason(e.target.value)}
                    placeholder="reason (for skip or resolve)"
                    aria-label="reason"
                  />
                  {(["skip", "resolve"] as const).map((what) => (
                    <button
                      key={what}
                      type="button"
                      disabled={busy}
                      onClick={() =>
                        act(() =>
                          api<Failure>("POST", `${path}/${what}`, { reason }).then((g) => ({
                            kind: "text" as const,
                            text: `${what === "skip" ? "Skipped" : "Resolved"}: now ${g.status}`,
                          })),
                        )
                      }
                    >
                      {what === "skip" ? "Skip" : "Resolved by hand"}
                    </button>
                  ))}
                </div>
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}

function Conflict({
  f,
  take,
  disabled,
}: {
  f: Failure & { sourcePayload: ConflictPayload };
  take: (side: string) => void;
  disabled: boolean;
}) {
  const p = f.sourcePayload;
  const fields = new Set(p.conflict.fields);
  const keys = [...new Set([...Object.keys(p.versions.a ?? {}), ...Object.keys(p.versions.b ?? {})])].sort();
  const cell = (v: Record<string, unknown> | null, k: string) => JSON.stringify(v?.[k] ?? null);
  return (
    <div data-testid="conflict">
      <p>
        Both sides changed {p.conflict.fields.join(", ")} since the last sync: {p.conflict.reason}
      </p>
      <table>
        <thead>
          <tr>
            <th>field</th>
            <th>
              {p.sides.a} {p.ids.a ? <code>{p.ids.a}</code> : null}
            </th>
            <th>
              {p.sides.b} {p.ids.b ? <code>{p.ids.b}</code> : null}
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k} className={fields.has(k) ? "conflict-field" : ""}>
              <td>{k}</td>
              <td>{cell(p.versions.a, k)}</td>
              <td>{cell(p.versions.b, k)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" disabled={disabled} onClick={() => take(p.sides.a)}>
          Take {p.sides.a}
        </button>
        <button type="button" disabled={disabled} onClick={() => take(p.sides.b)}>
          Take {p.sides.b}
        </button>
      </div>
    </div>
  );
}

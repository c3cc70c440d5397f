/** Mapping preview: a flow's mapping (or a draft) applied to a sample or a live record, with the plan. Writes nothing. */
import { type FormEvent, useState } from "react";
import { ApiError, api, enc, type FlowInfo, type Preview as PreviewResult } from "../api.ts";
import { Badge, ErrorBox, Json, Show, useApi } from "../ui.tsx";

export function Preview({ flow: initial }: { flow?: string }) {
  const flows = useApi(() => api<{ flows: FlowInfo[] }>("GET", "flows"), []);
  const [flow, setFlow] = useState(initial ?? "");
  const [mode, setMode] = useState<"live" | "sample">("live");
  const [liveId, setLiveId] = useState("");
  const [sample, setSample] = useState("{\n}");
  const [mapping, setMapping] = useState("");
  const [result, setResult] = useState<PreviewResult | null>(null);
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setResult(null);
    const body: Record<string, unknown> = {};
    try {
      if (mode === "live") body.live = { id: liveId };
      else body.sample = JSON.parse(sample);
      if (mapping.trim()) body.mapping = JSON.parse(mapping);
    } catch (x) {
      setError(`not valid JSON: ${(x as Error).message}`);
      return;
    }
    setBusy(true);
    try {
      setResult(await api<PreviewResult>("POST", `flows/${enc(flow)}/preview`, body));
    } catch (x) {
      setError(x instanceof ApiError ? x : String(x));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h2>Mapping preview</h2>
      <p className="muted">
        Applies a flow's mapping — or a draft tried instead of it — to one record and shows what the target
        would receive and what a sync would do now. Nothing is written.
      </p>
      <Show r={flows}>
        {({ flows: list }) => (
          <form onSubmit={submit} className="stack">
            <label>
              flow{" "}
              <select value={flow} onChange={(e) => setFlow(e.target.value)} aria-label="flow">
                <option value="">choose…</option>
                {list.map((f) => (
                  <option key={f.name}>{f.name}</option>
                ))}
              </select>
            </label>
            <label>
              <input type="radio" checked={mode === "live"} onChange={() => setMode("live")} /> a live record,
              by its id in the source:{" "}
              <input value={liveId} onChange={(e) => setLiveId(e.target.value)} aria-label="source id" />
            </label>
            <label>
              <input type="radio" checked={mode === "sample"} onChange={() => setMode("sample")} /> a sample
              in the source's own shape (JSON)
            </label>
            {mode === "sample" ? (
              <textarea
                value={sample}
                onChange={(e) => setSample(e.target.value)}
                rows={8}
                aria-label="sample"
              />
            ) : null}
            <label>
              draft mapping (JSON, same rules as passerelle.yaml; empty: the configured one)
              <textarea
                value={mapping}
                onChange={(e) => setMapping(e.target.value)}
                rows={5}
                placeholder='{ "title": { "expr": "$uppercase(title)" } }'
                aria-label="draft mapping"
              />
            </label>
            <div>
              <button type="submit" disabled={busy || !flow}>
                Preview
              </button>
            </div>
          </form>
        )}
      </Show>
      <ErrorBox error={error} />
      {result ? (
        <div data-testid="preview-result">
          <h3>
            Plan:{" "}
            {result.plan ? (
              <>
                <Badge kind={result.plan.action} /> {result.plan.key}
                {result.plan.targetId ? <code> → {result.plan.targetId}</code> : null}
                {result.plan.reason ? <span className="muted"> ({result.plan.reason})</span> : null}
              </>
            ) : (
              "none"
            )}
          </h3>
          {result.problems.map((p) => (
            <div key={`${p.field}-${p.message}`} className="error">
              {p.field ? `${p.field}: ` : ""}
              {p.message}
            </div>
          ))}
          {result.fields.length > 0 ? (
            <table>
              <thead>
                <tr>
                  <th>field</th>
                  <th>rule</th>
                  <th>before</th>
                  <th>after</th>
                </tr>
              </thead>
              <tbody>
                {result.fields.map((f) => (
                  <tr key={f.field}>
                    <td>{f.field}</td>
                    <td>
                      <code>{f.rule}</code>
                    </td>
                    <td>{JSON.stringify(f.before)}</td>
                    <td>{JSON.stringify(f.after)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <div className="panes">
            <div>
              <h3>Read (canonical)</h3>
              <Json value={result.canonical} />
            </div>
            <div>
              <h3>Mapped</h3>
              <Json value={result.mapped} />
            </div>
          </div>
        </div>
      ) : null}
    </section>
  );
}

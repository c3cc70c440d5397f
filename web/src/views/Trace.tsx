/**
 * A record's lineage: found by its key, any system's id or an order number, shown as a timeline with one
 * lane per system, newest last, and the record's id in every system it is linked to.
 */
import { type FormEvent, useState } from "react";
import { api, enc, type Link, type SyncEvent } from "../api.ts";
import { Badge, href, Show, useApi, when } from "../ui.tsx";

export const ENTITIES = ["product", "price", "inventory", "customer", "order", "shipment", "invoice"];

const OUTCOMES = new Set(["created", "updated", "skipped", "failed", "held"]);

interface TraceBody {
  entity: string;
  id: string;
  links: Record<string, Link[]>;
  events: SyncEvent[];
}

export function TraceSearch({ entity = "order", ref = "" }: { entity?: string; ref?: string }) {
  const [e, setE] = useState(entity);
  const [r, setR] = useState(ref);
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (r.trim()) window.location.hash = href("trace", e, r.trim());
  };
  return (
    <form className="inline" onSubmit={submit}>
      <select value={e} onChange={(x) => setE(x.target.value)} aria-label="entity">
        {ENTITIES.map((x) => (
          <option key={x}>{x}</option>
        ))}
      </select>
      <input
        value={r}
        onChange={(x) => setR(x.target.value)}
        placeholder="key, any system's id, or an order number (#1001)"
        aria-label="record"
        size={44}
      />
      <button type="submit">Trace</button>
    </form>
  );
}

export function TraceView({ entity, ref }: { entity?: string; ref?: string }) {
  return (
    <section>
      <h2>Record lineage</h2>
      <TraceSearch {...(entity ? { entity } : {})} {...(ref ? { ref } : {})} />
      {entity && ref ? <Timeline entity={entity} ref_={ref} /> : null}
    </section>
  );
}

function Timeline({ entity, ref_ }: { entity: string; ref_: string }) {
  const trace = useApi(
    () => api<TraceBody>("GET", `trace/${enc(entity)}/${enc(ref_)}`),
    [entity, ref_],
    5_000,
  );
  return (
    <Show r={trace}>
      {(t) => {
        const events = [...t.events].sort((a, b) => a.at.localeCompare(b.at) || (a.id ?? 0) - (b.id ?? 0));
        const lanes = [...new Set(events.map((e) => e.system))];
        // Where the record stands: the last write outcome (the actions around it — retried, edited,
        // resolved — say who did what, not whether it is synced).
        const last = [...events].reverse().find((e) => OUTCOMES.has(e.kind));
        return (
          <div data-testid="lineage">
            <h3>
              {entity} {Object.keys(t.links).join(", ") || t.id}{" "}
              {last ? (
                <span data-testid="lineage-state">
                  now: <Badge kind={last.kind} />
                </span>
              ) : null}
            </h3>
            <div className="links">
              {Object.entries(t.links).flatMap(([key, links]) =>
                links.map((l) => (
                  <span key={`${key}-${l.system}`} className="link">
                    {l.system}: <code>{l.externalId}</code>
                  </span>
                )),
              )}
            </div>
            <table className="timeline">
              <thead>
                <tr>
                  <th>at</th>
                  {lanes.map((l) => (
                    <th key={l}>{l}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {events.map((e, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: the order is the timeline's
                  <tr key={i} data-kind={e.kind}>
                    <td className="at">
                      {when(e.at)}
                      {e.runId ? (
                        <>
                          {" "}
                          <a href={href("run", e.runId)}>run #{e.runId}</a>
                        </>
                      ) : null}
                    </td>
                    {lanes.map((l) => (
                      <td key={l} className={l === e.system ? "lane-hit" : "lane"}>
                        {l === e.system ? (
                          <>
                            <Badge kind={e.kind} /> <span className="muted">{e.flow}</span>
                            {e.externalId ? <code> {e.externalId}</code> : null}
                            {e.message ? <div className="msg">{e.message}</div> : null}
                          </>
                        ) : null}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </Show>
  );
}

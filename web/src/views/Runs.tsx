/** Run history (of every flow or one), and one run with the lineage events it wrote. */
import { api, enc, type Run, type SyncEvent } from "../api.ts";
import { Badge, href, Show, useApi, when } from "../ui.tsx";

function Counts({ c }: { c: Run["counts"] }) {
  return (
    <span className="counts">
      read {c.read} · created {c.created} · updated {c.updated} · skipped {c.skipped} ·{" "}
      <span className={c.failed > 0 ? "warn" : ""}>failed {c.failed}</span> · calls {c.calls}
    </span>
  );
}

export function Runs({ flow }: { flow?: string }) {
  const runs = useApi(
    () => api<{ runs: Run[] }>("GET", `runs?limit=100${flow ? `&flow=${enc(flow)}` : ""}`),
    [flow],
    10_000,
  );
  return (
    <section>
      <h2>Runs{flow ? ` of ${flow}` : ""}</h2>
      {flow ? <a href={href("runs")}>all flows</a> : null}
      <Show r={runs}>
        {({ runs: list }) =>
          list.length === 0 ? (
            <p className="muted">No runs yet.</p>
          ) : (
            <table data-testid="runs">
              <thead>
                <tr>
                  <th>run</th>
                  <th>flow</th>
                  <th>mode</th>
                  <th>status</th>
                  <th>started</th>
                  <th>finished</th>
                  <th>counts</th>
                </tr>
              </thead>
              <tbody>
                {list.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <a href={href("run", r.id)}>#{r.id}</a>
                    </td>
                    <td>
                      <a href={href("runs", r.flow)}>{r.flow}</a>
                    </td>
                    <td>{r.mode}</td>
                    <td>
                      <Badge kind={r.status} />
                    </td>
                    <td>{when(r.startedAt)}</td>
                    <td>{when(r.finishedAt)}</td>
                    <td>
                      <Counts c={r.counts} />
                      {r.error ? <div className="warn">{r.error}</div> : null}
                    </td>
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

export function RunView({ id }: { id: string }) {
  const run = useApi(() => api<Run & { events: SyncEvent[] }>("GET", `runs/${enc(id)}`), [id]);
  return (
    <section>
      <h2>Run #{id}</h2>
      <Show r={run}>
        {(r) => (
          <>
            <p>
              <a href={href("runs", r.flow)}>{r.flow}</a> · {r.mode} · <Badge kind={r.status} /> ·{" "}
              {when(r.startedAt)} → {when(r.finishedAt)}
            </p>
            <p>
              <Counts c={r.counts} />
            </p>
            {r.error ? <div className="error">{r.error}</div> : null}
            <h3>Records this run touched</h3>
            <table>
              <thead>
                <tr>
                  <th>at</th>
                  <th>record</th>
                  <th>system</th>
                  <th>what</th>
                  <th>message</th>
                </tr>
              </thead>
              <tbody>
                {r.events.map((e, i) => (
                  <tr key={e.id ?? i}>
                    <td>{when(e.at)}</td>
                    <td>
                      <a href={href("trace", e.entity, e.key)}>{e.key}</a>
                    </td>
                    <td>{e.system}</td>
                    <td>
                      <Badge kind={e.kind} />
                    </td>
                    <td>{e.message ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Show>
    </section>
  );
}

/** Connection health, API calls against the daily budget, throttling, and calls per day over the last week. */
import { useState } from "react";
import { ApiError, api, type Connection, enc, type Usage } from "../api.ts";
import { BarChart, Meter } from "../charts.tsx";
import { Badge, ErrorBox, Show, useApi, when } from "../ui.tsx";

const COLORS = ["#1f5fa8", "#c77d12", "#2f7d4f", "#7a3fa0", "#b3261e", "#4b6b7a"];

export function Connections() {
  const list = useApi(() => api<{ connections: Connection[] }>("GET", "connections"), [], 15_000);
  const usage = useApi(() => api<Usage>("GET", "usage?days=7"), [], 60_000);
  const [checked, setChecked] = useState<Record<string, Connection>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const check = async (name: string) => {
    setError(null);
    try {
      const c = await api<Connection>("GET", `connections/${enc(name)}`);
      setChecked((m) => ({ ...m, [name]: c }));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, String(e)));
    }
  };
  return (
    <section>
      <h2>Connections</h2>
      <ErrorBox error={error} />
      <Show r={list}>
        {({ connections }) => (
          <table data-testid="connections">
            <thead>
              <tr>
                <th>connection</th>
                <th>type</th>
                <th>health</th>
                <th>API calls today against budget</th>
                <th>since start</th>
                <th>throttled / retries</th>
                <th>vendor rate budget</th>
                <th>flows</th>
              </tr>
            </thead>
            <tbody>
              {connections.map((c0) => {
                const c = checked[c0.name] ?? c0;
                return (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td>
                      {c.type}
                      {c.apiVersion ? (
                        <div className="muted" title={c.apiVersion.policy}>
                          {c.apiVersion.api} {c.apiVersion.version}
                          {c.apiVersion.supportedUntil
                            ? `, supported until ${c.apiVersion.supportedUntil.slice(0, 10)}`
                            : ""}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      {c.health ? (
                        <>
                          <Badge kind={c.health.ok ? "ok" : "failed"}>{c.health.ok ? "ok" : "failing"}</Badge>{" "}
                          <span className="muted">{when(c.health.checkedAt)}</span>
                          {c.health.error ? <div className="warn">{c.health.error}</div> : null}
                        </>
                      ) : (
                        <span className="muted">not checked</span>
                      )}{" "}
                      <button type="button" onClick={() => check(c.name)}>
                        Check
                      </button>
                    </td>
                    <td>
                      {c.budget ? (
                        <Meter
                          used={c.budget.usedToday}
                          total={c.budget.callsPerDay}
                          label={`${c.budget.usedToday} of ${c.budget.callsPerDay} (${c.budget.basis})`}
                        />
                      ) : (
                        <span>
                          {c.calls.today} <span className="muted">(no budget set)</span>
                        </span>
                      )}
                      <div className="muted">
                        {Object.entries(c.calls.todayByFlow)
                          .map(([f, n]) => `${f} ${n}`)
                          .join(" · ")}
                      </div>
                    </td>
                    <td>{c.calls.sinceStart}</td>
                    <td>
                      {c.throttled} / {c.retries ?? "—"}
                    </td>
                    <td>
                      {c.rateLimit && c.rateLimit.maximumAvailable !== undefined
                        ? `${c.rateLimit.currentlyAvailable ?? "?"} of ${c.rateLimit.maximumAvailable}`
                        : "—"}
                    </td>
                    <td>{c.flows.join(", ")}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Show>
      <h2>API calls per day</h2>
      <Show r={usage}>
        {(u) => {
          const days: string[] = [];
          const since = new Date(`${u.since.slice(0, 10)}T00:00:00Z`).getTime();
          for (let t = since; t <= Date.now(); t += 86400_000)
            days.push(new Date(t).toISOString().slice(0, 10));
          const names = Object.keys(u.totals).sort();
          const series = names.map((n, i) => ({
            name: n,
            color: COLORS[i % COLORS.length] ?? "#555",
            values: days.map((d) =>
              u.calls.filter((c) => c.connection === n && c.day === d).reduce((s, c) => s + c.calls, 0),
            ),
          }));
          return <BarChart title="API calls per day" labels={days.map((d) => d.slice(5))} series={series} />;
        }}
      </Show>
    </section>
  );
}

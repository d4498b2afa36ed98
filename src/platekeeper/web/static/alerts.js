// The live alert dashboard: new alerts arrive over Server-Sent Events and are added at the top of the table.
"use strict";
(() => {
  const rows = document.getElementById("alert-rows");
  const status = document.getElementById("live-status");
  if (!rows || !status || !window.EventSource) return;

  const cell = (text, className) => {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  };
  const badge = (td, text) => {
    const span = document.createElement("span");
    span.className = "badge warn";
    span.textContent = text;
    td.append(" ", span);
  };

  const addAlert = (a) => {
    if (rows.querySelector(`tr[data-alert-id="${a.id}"]`)) return;
    document.getElementById("no-alerts")?.remove();
    const tr = document.createElement("tr");
    tr.className = `alert-row p${a.priority} status-${a.status} fresh${a.historical ? " historical" : ""}`;
    tr.dataset.alertId = a.id;
    const prio = cell("");
    const p = document.createElement("span");
    p.className = "prio";
    p.textContent = `P${a.priority}`;
    prio.append(p);
    const plate = cell("", "plate");
    const link = document.createElement("a");
    link.href = a.url;
    link.textContent = a.plate;
    plate.append(link);
    const list = cell(`${a.kind_label} · ${a.hotlist.name}`);
    if (a.list_stale) badge(list, "stale list");
    const match = cell(a.match_kind + (a.matched_via === "candidate" ? " (alternate)" : ""));
    if (a.state_mismatch) badge(match, "state differs");
    const time = cell(a.captured_at_local);
    if (a.historical) badge(time, "historical");
    tr.append(prio, time, plate, cell(a.entry_plate + (a.entry_state ? ` ${a.entry_state}` : ""), "plate"),
      list, match, cell(a.camera.name || String(a.camera.id)), cell(a.status));
    rows.prepend(tr);
    if (!a.historical) document.title = `(${a.plate}) Alerts`;
  };

  const show = (state, text) => { status.textContent = text; status.dataset.state = state; };
  // First connection: the alerts raised since this page was rendered come first. The browser reconnects on its own
  // after a dropped connection, sending the last event id it got (Last-Event-ID), so those missed meanwhile come too.
  const after = /^[0-9]+$/.test(rows.dataset.after || "") ? rows.dataset.after : "0";
  const source = new EventSource(`/api/v1/alerts/stream?after=${after}`);
  let truncated = false; // more alerts were missed than the stream resends: only a reload shows them all
  const live = () => truncated
    ? show("truncated", "Live, but more alerts were raised while this page was not connected than the feed resends. Reload the page to see them all.")
    : show("live", "Live: new alerts appear at the top.");
  source.addEventListener("open", live);
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) show("closed", "Live feed stopped. Reload the page to see new alerts.");
    else show("reconnecting", "Live feed interrupted; reconnecting…");
  });
  source.addEventListener("replay-truncated", () => { truncated = true; live(); });
  // The server ends the stream when the session or the account can no longer see alerts: do not reconnect.
  source.addEventListener("ended", (event) => {
    source.close();
    const reason = JSON.parse(event.data).reason || "your session ended";
    show("closed", `Live feed stopped: ${reason}. Sign in again to see new alerts.`);
  });
  source.addEventListener("alert", (event) => addAlert(JSON.parse(event.data)));
})();

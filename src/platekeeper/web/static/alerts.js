// The live alert dashboard: new alerts arrive over Server-Sent Events and are added at the top of the table; a new
// live hit raises a loud banner (red for priority 1) and, when sound is on, a beep. Historical leads do neither.
"use strict";
(() => {
  const rows = document.getElementById("alert-rows");
  const status = document.getElementById("live-status");
  const checkAll = document.getElementById("check-all");
  if (checkAll) {
    checkAll.addEventListener("change", () => {
      for (const box of document.querySelectorAll('input[name="alert_id"]')) box.checked = checkAll.checked;
    });
  }
  const banner = document.getElementById("live-banner");
  const toggle = document.getElementById("sound-toggle");
  const SOUND_KEY = "platekeeper-alert-sound";
  const soundOn = () => {
    const chosen = window.localStorage?.getItem(SOUND_KEY);
    return chosen ? chosen === "on" : banner?.dataset.sound === "on";
  };
  if (toggle) {
    toggle.checked = soundOn();
    toggle.addEventListener("change", () => window.localStorage?.setItem(SOUND_KEY, toggle.checked ? "on" : "off"));
  }
  banner?.querySelector(".banner-dismiss")?.addEventListener("click", () => { banner.hidden = true; });
  const beep = (times) => {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    const audio = new Context();
    for (let i = 0; i < times; i += 1) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = i % 2 ? 660 : 880;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + i * 0.3);
      tone.stop(audio.currentTime + i * 0.3 + 0.2);
    }
  };
  const announce = (a) => {
    if (!banner || a.historical) return;
    banner.className = `live-banner p${a.priority}`;
    banner.querySelector(".banner-text").textContent =
      `P${a.priority} ${a.kind_label}: ${a.plate} at ${a.camera.name || a.camera.id}, ${a.captured_at_local}. Verify before any action.`;
    banner.querySelector(".banner-link").href = a.url;
    banner.hidden = false;
    if (soundOn()) beep(a.priority === 1 ? 3 : 2);
  };
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
    announce(a);
    const source = rows.dataset.source || "all";
    if (source !== "all" && (source === "historical") !== Boolean(a.historical)) return; // filtered out
    if (rows.dataset.filtered === "yes") return; // a status, list, priority or older page: the banner says it
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
    if (document.getElementById("check-all")) tr.append(cell(""));
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

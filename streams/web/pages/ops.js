const officeId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const hm = s => Math.floor(s / 3600) + "j" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
const cell = t => { const td = document.createElement("td"); td.textContent = t; return td; };
const row = cells => { const tr = document.createElement("tr"); tr.append(...cells.map(cell)); return tr; };
let view = null;
function render() {
  if (!view) return;
  document.getElementById("office").textContent = view.office_name + " · Operasional / Operations";
  const s = view.status || {};
  const kpis = [["Menunggu / Waiting", s.waiting], ["Berisiko / At risk", s.at_risk],
    ["Tunggu terlama / Longest wait", s.longest_wait_s === undefined ? "-" : hm(s.longest_wait_s)],
    ["Gangguan aktif / Outages", s.outages_active], ["Prioritas / Priority", s.priority_assigned],
    ["Dipanggil / Called", s.priority_called], ["Jam kantor / Office clock", s.clock ? s.clock.slice(11, 19) : "-"]];
  document.getElementById("kpis").replaceChildren(...kpis.map(([k, v]) => {
    const d = document.createElement("div"); d.className = "kpi"; d.textContent = k;
    const b = document.createElement("b"); b.textContent = v === undefined ? "-" : v; d.prepend(b); return d; }));
  const clock = s.clock ? Date.parse(s.clock) : Date.now();
  document.getElementById("at-risk").replaceChildren(...view.at_risk.map(r => {
    const left = Math.round((Date.parse(r.deadline) - clock) / 60000);
    const tr = row([r.ticket_no, r.issued_at.slice(11, 16), r.deadline.slice(11, 16), left + " min"]);
    if (left <= 10) tr.className = "late"; return tr; }));
  document.getElementById("decisions").replaceChildren(...view.decisions.map(d =>
    row([d.ticket_no, d.outcome, hm(d.waited_s), d.reasons.join(", ")])));
}
// The sign-in cookie goes with the stream by itself. A token taken away (rotated) shows sign-in again.
const base = "/offices/" + encodeURIComponent(officeId);
function connect() {
  const source = new EventSource(base + "/ops/stream");
  source.onopen = () => document.body.classList.remove("offline");
  source.onmessage = (e) => { document.body.classList.remove("offline"); view = JSON.parse(e.data); render(); };
  source.onerror = () => {
    document.body.classList.add("offline");
    fetch(base + "/status").then(r => { if (r.status === 401 || r.status === 403) location.reload(); }, () => {});
    // A stream refused (503: the worker's streams all taken) is not retried by EventSource itself.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000 + Math.random() * 5000);
  };
}
connect();
document.getElementById("sign-out").addEventListener("click", () => {
  document.cookie = "kompensasi_token=; Path=/; Max-Age=0; SameSite=Strict";
  location.reload();
});

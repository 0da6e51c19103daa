const officeId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
let zone = "Asia/Jakarta";
function tick() {
  document.getElementById("clock").textContent =
    new Intl.DateTimeFormat("id-ID", {timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit",
                                      hour12: false}).format(new Date()).replaceAll(".", ":");
}
setInterval(tick, 1000); tick();
function render(board) {
  zone = board.time_zone; tick();
  document.getElementById("office").textContent = board.office_name;
  const waiting = document.getElementById("waiting");
  waiting.replaceChildren(...board.waiting.map(w => {
    const el = document.createElement("div"); el.className = "number"; el.textContent = w.priority_no; return el;
  }));
  document.getElementById("empty").style.display = board.waiting.length ? "none" : "block";
  const last = board.last_called;
  document.getElementById("last-number").textContent = last ? last.priority_no : "–";
  document.getElementById("last-counter").textContent = last ? "Loket / Counter " + last.counter : "";
}
function connect() {
  const source = new EventSource("/offices/" + encodeURIComponent(officeId) + "/board/stream");
  source.onopen = () => document.body.classList.remove("offline");
  source.onmessage = (e) => { document.body.classList.remove("offline"); render(JSON.parse(e.data)); };
  source.onerror = () => {
    document.body.classList.add("offline");
    // EventSource retries a lost connection by itself, but gives up on an answer that is not a
    // stream (503 when the worker's streams are all taken): try again a few seconds later.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000 + Math.random() * 5000);
  };
}
connect();

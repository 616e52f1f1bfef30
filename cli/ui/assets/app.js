// The `stageset ui` page: the overview (every StageSet as a pipeline of its stages) and a
// StageSet's own page, kept live from the server's event stream. Every string from the cluster
// is escaped before it is put into HTML: names are the tenant's, messages are free text.
"use strict";

const items = new Map();
let source = { state: "Starting", detail: "", synced: false };
let scope = "";
let detailTimer;
let detailReload;
let detailShown = "";
let detailJson = "";
let lastFailure = "";
const main = document.getElementById("main");
const connection = document.getElementById("connection");

const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = value => String(value ?? "").replace(/[&<>"']/g, c => entities[c]);
const phaseClass = word => `p-${String(word).replace(/[^A-Za-z]/g, "")}`;
const shortRev = rev => (rev ? String(rev).replace(/(sha256:[0-9a-f]{12})[0-9a-f]+/, "$1") : "-");

function ago(iso) {
  const t = Date.parse(iso);
  if (!iso || Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
const when = (iso, label) => (iso ? `<time datetime="${esc(iso)}" data-label="${esc(label)}">${label ? `${esc(label)} ` : ""}${ago(iso)} ago</time>` : "");
const future = iso => (iso ? `<time datetime="${esc(iso)}">until ${esc(new Date(iso).toLocaleTimeString())}</time>` : "");

// ---- overview --------------------------------------------------------------------------------

// A thousand StageSets of ten stages each are ten thousand of these: as little markup as will do.
function stageHtml(st) {
  // The message shows on hover, and is read out by a screen reader (hidden text), not left to the mouse.
  const title = st.message ? ` title="${esc(`stage ${st.name}: ${st.message}`)}"` : "";
  const said = st.message ? `<span class="vh">: ${esc(st.message)}</span>` : "";
  return `<li class="stage ${phaseClass(st.phase)}" data-stage="${esc(st.name)}" data-phase="${esc(st.phase)}"${title}>` +
    `<b>${esc(st.name)}</b> ${esc(st.phase)} <span class="rev">${esc(st.revision || "-")}</span> ` +
    `${st.soakEndsAt && st.phase === "Ready" ? future(st.soakEndsAt) : when(st.since, "")}${gateChip(st.gate)}${said}</li>`;
}

/** The gate's answer for a stage, as the overview got it: open (200), closed (403), or another status. */
function gateChip(status) {
  if (status === undefined) return "";
  const word = status === 200 ? "open" : status === 403 ? "closed" : String(status);
  return ` <span class="gate ${status === 200 ? "g-open" : "g-closed"}" data-gate="${Number(status)}">gate ${word}</span>`;
}

function actionsText(a) {
  const parts = [];
  if (a.succeeded) parts.push(`${a.succeeded} succeeded`);
  if (a.running) parts.push(`${a.running} running`);
  if (a.failed) parts.push(`${a.failed} failed`);
  return parts.length ? `actions: ${parts.join(", ")}` : "";
}

function rowHtml(v) {
  const href = `#/ss/${encodeURIComponent(v.namespace)}/${encodeURIComponent(v.name)}`;
  const flags = [v.suspended ? "suspended" : "", v.deleting ? "being deleted" : ""].filter(Boolean).join(", ");
  const meta = [flags, v.runStartedAt ? when(v.runStartedAt, "run started") : "", esc(actionsText(v.actions))].filter(Boolean).join(" · ");
  const failure = v.failure ? `<p class="failure"><strong>${esc(v.failure.reason)}</strong>: ${esc(v.failure.message)} ${when(v.failure.at, "since")}</p>` : "";
  return `<li class="ss" data-key="${esc(v.key)}" data-ready="${esc(v.ready)}"><div class="head">` +
    `<a class="name" href="${esc(href)}">${esc(v.namespace)}/${esc(v.name)}</a>` +
    `<span class="badge ${phaseClass(v.ready)}">Ready=${esc(v.ready)}</span><span class="reason">${esc(v.reason)}</span>` +
    `<span class="meta">${meta}</span></div>` +
    `<ol class="pipeline" aria-label="stages of ${esc(v.key)}">${v.stages.map(stageHtml).join("")}</ol>${failure}</li>`;
}

const filterText = () => (document.getElementById("filter")?.value ?? "").trim().toLowerCase();
const onlyTrouble = () => document.getElementById("trouble")?.checked === true;

function shown(v, text, trouble) {
  if (trouble && v.ready === "True") return false;
  if (!text) return true;
  return `${v.key} ${v.reason} ${v.stages.map(s => `${s.name} ${s.phase}`).join(" ")}`.toLowerCase().includes(text);
}

function renderOverview() {
  main.innerHTML = `<h2 id="overview-title">Releases <span id="count" class="meta"></span></h2>` +
    `<div class="controls"><label>Filter <input id="filter" type="search" placeholder="namespace, name, reason, stage (press /)"></label>` +
    `<label><input id="trouble" type="checkbox"> only not Ready</label></div>` +
    `<div id="source-note"></div><ul id="list" class="list" aria-labelledby="overview-title"></ul>`;
  document.getElementById("filter").addEventListener("input", applyFilter);
  document.getElementById("trouble").addEventListener("change", applyFilter);
  fillList();
}

// The first screenful is drawn at once; the rest follows in chunks between frames, so the first
// releases show without waiting for a thousand rows to be built.
const firstRows = 60;
const chunkRows = 250;
let pending = [];
let pendingSet = new Set();
let chunkTimer;
let chunkFrame;
let drawing = false;
/** The StageSet whose link had the keyboard focus before the list was drawn anew: it gets it back once drawn. */
let refocus = "";

function fillList() {
  const list = document.getElementById("list");
  if (!list) return;
  stopDrawing();
  refocus = document.activeElement?.closest?.("#list li.ss")?.dataset.key ?? refocus;
  const keys = [...items.keys()].sort((a, b) => a.localeCompare(b));
  list.innerHTML = keys.slice(0, firstRows).map(rowFor).join("");
  restoreFocus(list);
  performance.mark("stagesets-first-drawn", { detail: Math.min(keys.length, firstRows) });
  pending = keys.slice(firstRows);
  pendingSet = new Set(pending);
  afterPaint("stagesets-first-painted", Math.min(keys.length, firstRows));
  drawLater();
}

/** Rows that sort after every row drawn or waiting (the rest of a snapshot): drawn after them. */
function appendRows(keys) {
  for (const k of keys) {
    pending.push(k);
    pendingSet.add(k);
  }
  drawLater();
}

function stopDrawing() {
  clearTimeout(chunkTimer);
  cancelAnimationFrame(chunkFrame);
  drawing = false;
}

/** The rest after what is drawn has been painted (or shortly, in a tab the browser does not paint), not before. */
function drawLater() {
  if (drawing) return;
  drawing = true;
  const go = () => {
    cancelAnimationFrame(chunkFrame);
    clearTimeout(chunkTimer);
    chunkTimer = setTimeout(drawPending);
  };
  chunkFrame = requestAnimationFrame(go);
  chunkTimer = setTimeout(go, 100);
}

function drawPending() {
  const list = document.getElementById("list");
  if (list && pending.length) {
    const chunk = pending.splice(0, chunkRows);
    for (const k of chunk) pendingSet.delete(k);
    list.insertAdjacentHTML("beforeend", chunk.filter(k => items.has(k)).map(rowFor).join(""));
    restoreFocus(list);
    chunkTimer = setTimeout(drawPending);
    return;
  }
  drawing = false;
  applyFilter();
  showSource();
  performance.mark("stagesets-rendered", { detail: items.size });
  afterPaint("stagesets-painted", items.size);
}

function restoreFocus(list) {
  if (!refocus) return;
  const link = list.querySelector(`li.ss[data-key="${CSS.escape(refocus)}"]:not([hidden]) a.name`);
  if (!link && pending.includes(refocus)) return;
  refocus = "";
  if (link) link.focus();
}

/** A row as the filter shows it now (a filter typed while the list is still drawing holds for later chunks too). */
function rowFor(key) {
  const v = items.get(key);
  const html = rowHtml(v);
  return shown(v, filterText(), onlyTrouble()) ? html : html.replace("<li ", "<li hidden ");
}

/** Marks the moment after the next frame has been painted (a timeout posted from a frame callback runs after that frame). */
const afterPaint = (name, detail) => requestAnimationFrame(() => setTimeout(() => performance.mark(name, { detail })));

function applyFilter() {
  const text = filterText();
  const trouble = onlyTrouble();
  let count = 0;
  for (const row of document.querySelectorAll("#list > li")) {
    const v = items.get(row.dataset.key);
    row.hidden = !v || !shown(v, text, trouble);
    if (!row.hidden) count++;
  }
  setCount(count);
}

function setCount(visible) {
  const count = document.getElementById("count");
  if (count) count.textContent = visible === items.size ? `(${items.size})` : `(${visible} of ${items.size})`;
}

/** Writes a live region only when its text changes: a screen reader hears a change once, not every redraw. */
function say(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

function showSource() {
  const note = document.getElementById("source-note");
  if (!note) return;
  const trouble = source.state === "Forbidden" || source.state === "Failing" || source.state === "NotServed";
  const text = trouble ? `Cannot read StageSets (${source.state}): ${source.detail}` : source.synced ? (items.size ? "" : "No StageSets found.") : "Listing StageSets…";
  note.className = trouble ? "banner" : "";
  if (trouble && note.textContent !== text) say(document.getElementById("announce"), text);
  say(note, text);
  setCount(document.querySelectorAll("#list > li:not([hidden])").length);
}

/** One StageSet changed: its row replaced in place (or added where it sorts), nothing else redrawn. */
function patchRow(key, view) {
  const list = document.getElementById("list");
  if (!list) return;
  // Not drawn yet: the chunk that draws it reads the newest view (a new one joins the queue in order).
  if (pendingSet.has(key)) return;
  const old = list.querySelector(`li[data-key="${CSS.escape(key)}"]`);
  if (!view) return old?.remove();
  if (!old && pending.length && key.localeCompare(pending[0]) > 0) {
    const at = pending.findIndex(k => k.localeCompare(key) > 0);
    pending.splice(at < 0 ? pending.length : at, 0, key);
    pendingSet.add(key);
    return;
  }
  const tpl = document.createElement("template");
  tpl.innerHTML = rowHtml(view);
  const row = tpl.content.firstElementChild;
  row.hidden = !shown(view, filterText(), onlyTrouble());
  if (old) {
    // Its link keeps the keyboard focus it had: a live update must not throw the reader's place away.
    const focused = old.contains(document.activeElement);
    old.replaceWith(row);
    // A row the filter now hides cannot hold focus: the list's content takes it.
    if (focused) (row.hidden ? main : row.querySelector("a.name"))?.focus();
    return;
  }
  const next = [...list.children].find(li => li.dataset.key.localeCompare(key) > 0);
  list.insertBefore(row, next ?? null);
}

// ---- a StageSet's page -----------------------------------------------------------------------

const table = (head, rows) => (rows.length ? `<table><thead><tr>${head.map(h => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map(r => `<tr>${r.join("")}</tr>`).join("")}</tbody></table>` : "<p>None.</p>");
const cell = (text, cls = "") => `<td${cls ? ` class="${cls}"` : ""}>${esc(text)}</td>`;
const badge = word => `<td><span class="badge ${phaseClass(word)}">${esc(word)}</span></td>`;

function gateHtml(answer) {
  if (!answer) return "";
  if (answer.status === undefined) return `<span class="badge g-none">gate not reachable</span> <span class="meta">${esc(answer.answer)}</span>`;
  return `<span class="badge ${answer.status === 200 ? "g-open" : "g-closed"}" data-gate="${answer.status}">gate ${answer.status} ${esc(answer.answer)}</span>`;
}

function stageDetailHtml(st, d) {
  const full = d.stages.find(s => s.name === st.name) ?? {};
  const tree = d.tree.find(t => t.name === st.name);
  const gate = d.gate.answers.find(a => a.stage === st.name);
  const objects = tree?.problem ? `<p class="banner">inventory unreadable: ${esc(tree.problem)}</p>` :
    table(["Object", "Health", "Message"], (tree?.objects ?? []).map(o => [cell(o.id), badge(o.health.status), cell(o.health.message, "msg")]));
  return `<section class="stage-detail" data-stage="${esc(st.name)}" aria-label="stage ${esc(st.name)}"><h4>stage ${esc(st.name)} <span class="badge ${phaseClass(st.phase)}">${esc(st.phase)}</span> ${gateHtml(gate)}</h4>` +
    `<dl class="facts"><dt>revision tried</dt><dd>${esc(full.attemptedRevision || "-")}</dd><dt>revision applied</dt><dd>${esc(full.appliedRevision || "-")}</dd>` +
    `<dt>in phase since</dt><dd>${when(st.since, "") || "-"}</dd><dt>applied</dt><dd>${when(full.lastAppliedTime, "") || "-"}</dd>` +
    (st.soakEndsAt ? `<dt>soak ends</dt><dd>${esc(st.soakEndsAt)}</dd>` : "") +
    (full.message ? `<dt>message</dt><dd class="msg">${esc(full.message)}</dd>` : "") + `</dl>${objects}</section>`;
}

function renderDetail(d) {
  const v = d.view;
  const ready = d.conditions.find(c => c.type === "Ready");
  main.innerHTML = `<p><a id="back" href="#/">← all releases</a></p><h2>StageSet ${esc(v.key)}</h2>` +
    `<p><span class="badge ${phaseClass(v.ready)}">Ready=${esc(v.ready)}</span> <strong>${esc(v.reason)}</strong> ${esc(ready?.message ?? "")}</p>` +
    (v.failure ? `<p class="failure"><strong>${esc(v.failure.reason)}</strong>: ${esc(v.failure.message)}</p>` : "") +
    `<p class="meta">${v.suspended ? "suspended · " : ""}${v.runStartedAt ? when(v.runStartedAt, "run started") : "no run yet"} · gate at ${esc(d.gate.url)}</p>` +
    `<h3>Stages</h3>${v.stages.map(st => stageDetailHtml(st, d)).join("")}` +
    `<h3>Action ledger</h3>${table(["Stage", "Hook", "Action", "Revision", "Phase", "Attempts", "Started", "Finished", "Message"], d.actions.map(a => [cell(a.stage), cell(a.hook), cell(a.name), cell(shortRev(a.revision)), badge(a.phase), cell(a.attempts), cell(a.startedAt), cell(a.finishedAt ?? ""), cell(a.message ?? "", "msg")]))}` +
    `<h3>Approvals</h3>${table(["Stage", "Revision", "By", "At"], d.approvals.map(a => [cell(a.stage), cell(shortRev(a.revision)), cell(a.approvedBy), cell(a.approvedAt)]))}` +
    `<h3>Conditions</h3>${table(["Type", "Status", "Reason", "Message", "Since"], d.conditions.map(c => [cell(c.type), badge(c.status), cell(c.reason), cell(c.message, "msg"), cell(c.lastTransitionTime)]))}` +
    `<h3>Recent Events</h3>${d.eventsError ? `<p class="banner">${esc(d.eventsError)}</p>` : table(["Time", "Type", "Reason", "Message"], d.events.map(e => [cell(e.time), badge(e.type), cell(e.reason), cell(e.message, "msg")]))}`;
  performance.mark("stageset-detail-rendered");
}

/** Says a new failure once (a screen reader hears it), not again at every refresh. */
function announceFailure(view) {
  const text = view.failure ? `${view.key} failed: ${view.failure.reason}: ${view.failure.message}` : "";
  if (text && text !== lastFailure) document.getElementById("announce").textContent = text;
  lastFailure = text;
}

async function loadDetail(key) {
  const [namespace, name] = key.split("/");
  let res;
  let body;
  try {
    res = await fetch(`api/stagesets/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
    body = await res.text();
  } catch (err) {
    res = undefined;
    body = `cannot reach stageset ui: ${err}`;
  }
  // The reader may have moved on while this was read.
  if (detailShown !== key) return;
  // The view has only just started and not listed yet: ask again shortly, still "Loading…".
  if (res?.status === 503) {
    clearTimeout(detailTimer);
    detailTimer = setTimeout(() => void loadDetail(key), 500);
    return;
  }
  if (body !== detailJson) {
    detailJson = body;
    if (res?.ok) {
      const d = JSON.parse(body);
      // Redrawn only when something changed, keeping the scroll position and the focused link.
      const [scrolled, focused] = [window.scrollY, document.activeElement?.id];
      renderDetail(d);
      if (focused) document.getElementById(focused)?.focus();
      window.scrollTo(0, scrolled);
      announceFailure(d.view);
    } else {
      main.innerHTML = `<p><a id="back" href="#/">← all releases</a></p><p class="banner">${esc(body)}</p>`;
    }
  }
  // Objects' health and the gate change without the StageSet changing: look again a few seconds after this answer.
  clearTimeout(detailTimer);
  detailTimer = setTimeout(() => void loadDetail(key), 5000);
}

// ---- routing and the live stream -----------------------------------------------------------

/** The StageSet a hash names, or "" for the overview. */
function routeKey(hash) {
  const m = /^#\/ss\/([^/]+)\/([^/]+)$/.exec(hash);
  if (!m) return "";
  try {
    return `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
  } catch {
    return "";
  }
}

function route() {
  clearTimeout(detailTimer);
  clearTimeout(detailReload);
  // Back on the overview, the keyboard focus is on the StageSet just left, not lost to the page's top.
  refocus = detailShown;
  detailShown = routeKey(location.hash);
  detailJson = "";
  lastFailure = "";
  if (!detailShown) {
    document.title = "StageSet releases";
    return renderOverview();
  }
  document.title = `StageSet ${detailShown}`;
  main.innerHTML = "<p>Loading…</p>";
  main.focus();
  void loadDetail(detailShown);
}

function changed(upsert, remove) {
  for (const v of upsert) items.set(v.key, v);
  for (const key of remove) items.delete(key);
  if (detailShown) {
    if (upsert.some(v => v.key === detailShown) || remove.includes(detailShown)) {
      clearTimeout(detailReload);
      const key = detailShown;
      detailReload = setTimeout(() => void loadDetail(key), 150);
    }
    return;
  }
  // Many at once (the first listing after the view started, a resync): drawn anew in order, in chunks.
  if (upsert.length + remove.length > firstRows) return fillList();
  for (const v of upsert) patchRow(v.key, v);
  for (const key of remove) patchRow(key, undefined);
  showSource();
}

function setConnection(text, cls) {
  say(connection, text);
  connection.className = cls;
}

function connect() {
  const stream = new EventSource("events");
  stream.addEventListener("open", () => setConnection("live", "live"));
  const stopped = () => setConnection("stopped: start `stageset ui` again and open the address it prints", "down");
  stream.addEventListener("stopped", () => (stream.close(), stopped()));
  stream.addEventListener("error", () => {
    // Closed for good (refused: the view was started again under a new address), or retrying.
    if (stream.readyState === EventSource.CLOSED) stopped();
    else setConnection("disconnected: retrying…", "down");
  });
  stream.addEventListener("snapshot", e => {
    performance.mark("snapshot-received", { detail: e.data.length });
    const snap = JSON.parse(e.data);
    items.clear();
    for (const v of snap.items) items.set(v.key, v);
    source = snap.source;
    scope = snap.scope;
    document.getElementById("scope").textContent = `watching ${scope}`;
    if (!detailShown) fillList();
  });
  stream.addEventListener("snapshot-rest", e => {
    performance.mark("snapshot-rest-received", { detail: e.data.length });
    const rest = JSON.parse(e.data);
    for (const v of rest.items) items.set(v.key, v);
    if (!detailShown) appendRows(rest.items.map(v => v.key));
  });
  stream.addEventListener("change", e => {
    const c = JSON.parse(e.data);
    changed(c.upsert, c.remove);
  });
  stream.addEventListener("source", e => {
    source = JSON.parse(e.data);
    showSource();
  });
}

// Relative times age in place; nothing is fetched for it.
setInterval(() => {
  for (const t of document.querySelectorAll("time[data-label]")) t.textContent = `${t.dataset.label ? `${t.dataset.label} ` : ""}${ago(t.getAttribute("datetime"))} ago`;
}, 15000);

document.addEventListener("keydown", e => {
  if (e.key === "/" && document.activeElement?.tagName !== "INPUT") {
    const filter = document.getElementById("filter");
    if (filter) {
      e.preventDefault();
      filter.focus();
    }
  }
});

// The skip link moves the focus without changing the address, so Back and Forward stay the pages' own.
document.querySelector(".skip").addEventListener("click", e => {
  e.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);
connect();
route();

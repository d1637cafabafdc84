// The playground: plain JavaScript over the native API (/api), no build step.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { session: newId(), controller: null };

function newId() { return "pg-" + Math.random().toString(36).slice(2, 12); }
function headers(extra = {}) {
  const key = $("key").value.trim();
  return key ? { ...extra, Authorization: "Bearer " + key } : extra;
}
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body && body.error ? body.error.message : response.statusText);
  return body;
}
function collection() { return $("new-collection").value.trim() || $("collection").value || "default"; }
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function refresh() {
  try {
    const chosen = $("collection").value;
    const bases = await api("/api/collections");
    $("collection").replaceChildren(...bases.map((b) => {
      const option = el("option", null, `${b.name} (${b.documents} documents)`);
      option.value = b.name;
      return option;
    }));
    if (bases.some((b) => b.name === chosen)) $("collection").value = chosen;
    const docs = await api("/api/documents?collection=" + encodeURIComponent($("collection").value || "default"));
    $("documents").replaceChildren(...docs.map((d) => el("li", null, `${d.name} · ${d.kind} · ${d.chunks} chunks`)));
    $("upload-status").textContent = "";
  } catch (error) {
    $("upload-status").textContent = error.message;
    $("upload-status").className = "error";
  }
}

function upload() {
  const file = $("file").files[0];
  if (!file) return;
  const target = collection();
  const bar = $("upload-progress"), status = $("upload-status");
  bar.hidden = false; bar.value = 0; status.className = "muted";
  status.textContent = `Uploading ${file.name}…`;
  const xhr = new XMLHttpRequest();
  xhr.open("PUT", `/api/documents/${encodeURIComponent(file.name)}?collection=${encodeURIComponent(target)}`);
  for (const [name, value] of Object.entries(headers())) xhr.setRequestHeader(name, value);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onload = () => {
    const body = JSON.parse(xhr.responseText || "{}");
    if (xhr.status >= 400) { status.textContent = body.error.message; status.className = "error"; return; }
    follow(body.id, target);
  };
  xhr.onerror = () => { status.textContent = "upload failed"; status.className = "error"; };
  xhr.send(file);
}

async function follow(jobId, target) {
  const bar = $("upload-progress"), status = $("upload-status");
  const job = await api("/api/jobs/" + jobId);
  if (job.state === "running") {
    bar.value = job.total ? job.done / job.total : 0;
    status.textContent = `Indexing ${job.name}: ${job.stage} ${job.done}/${job.total}`;
    setTimeout(() => follow(jobId, target), 300);
    return;
  }
  bar.hidden = true;
  if (job.state === "failed") { status.textContent = job.error.message; status.className = "error"; return; }
  $("new-collection").value = "";
  await refresh();
  $("collection").value = target;
  await refresh();
  status.textContent = job.report.unchanged ? `${job.name}: already indexed, unchanged`
    : `${job.name}: ${job.report.chunks} chunks indexed`;
}

function showStats(turn, answer) {
  const stats = el("div", "stats");
  const hit = el("b", answer.cache_hit ? "" : "miss", answer.cache_hit ? "cache hit" : "cache miss");
  const t = answer.timings_ms;
  const stages = ["understand", "recall", "assemble", "route", "answer", "record"]
    .filter((s) => s in t).map((s) => `${s} ${t[s].toFixed(1)}`).join(" · ");
  stats.append(hit, ` · ${answer.route.tier} tier (${answer.route.model}) · $${answer.cost_usd.toFixed(6)}` +
    ` · ${t.total.toFixed(0)} ms (${stages} ms)`);
  stats.title = answer.cache_reason + "\n" + answer.route.reason;
  turn.append(stats);
}

function showCitations(turn, citations) {
  const cites = el("div", "cites");
  for (const c of citations) {
    const button = el("button", null, c.label);
    button.type = "button";
    button.onclick = () => {
      $("quote-label").textContent = c.label;
      $("quote-text").textContent = c.quote || "(no quoted text)";
      $("quote").hidden = false;
    };
    cites.append(button);
  }
  turn.append(cites);
}

async function ask(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question || state.controller) return;
  $("question").value = "";
  const turn = el("div", "turn");
  const text = el("div", "a");
  turn.append(el("div", "q", question), text);
  $("turns").append(turn);
  state.controller = new AbortController();
  $("stop").disabled = false; $("ask").disabled = true;
  try {
    const response = await fetch(`/api/sessions/${state.session}/stream`, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ question, collection: $("collection").value || "default" }),
      signal: state.controller.signal,
    });
    if (!response.ok) throw new Error((await response.json()).error.message);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const kind = (block.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1]);
        if (kind === "delta") text.textContent += data;
        else if (kind === "answer") { text.textContent = data.text; showCitations(turn, data.citations); showStats(turn, data); }
      }
      $("turns").scrollTop = $("turns").scrollHeight;
    }
  } catch (error) {
    if (error.name === "AbortError") text.classList.add("stopped");
    else { text.textContent = error.message; text.classList.add("error"); }
  } finally {
    state.controller = null;
    $("stop").disabled = true; $("ask").disabled = false;
  }
}

$("key").value = sessionStorage.getItem("ca-key") || "";
$("key").addEventListener("change", () => { sessionStorage.setItem("ca-key", $("key").value); refresh(); });
// A session keeps the knowledge base of its first turn: a new base starts a new conversation.
$("collection").addEventListener("change", () => { state.session = newId(); $("turns").replaceChildren(); refresh(); });
$("upload").addEventListener("click", upload);
$("ask-form").addEventListener("submit", ask);
$("stop").addEventListener("click", () => state.controller && state.controller.abort());
$("new-session").addEventListener("click", () => { state.session = newId(); $("turns").replaceChildren(); });
$("quote-close").addEventListener("click", () => { $("quote").hidden = true; });
refresh();

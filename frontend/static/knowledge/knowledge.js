// The operator's knowledge page: articles, document uploads with progress, hit test, entities.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("knowledge-config").textContent);
  const api = config.api;
  const $ = (id) => document.getElementById(id);
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
  let currentArticle = null;
  let currentEntity = null;

  function showError(message) { $("kb-error").textContent = message || ""; }

  async function call(path, options = {}) {
    const headers = { "X-CSRFToken": csrf, ...(options.headers || {}) };
    let body = options.body;
    if (body && !(body instanceof FormData)) { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    const response = await fetch(api + path, { method: options.method || "GET", headers, body, credentials: "same-origin" });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { const msg = (data.error && data.error.message) || response.statusText; throw new Error(msg); }
    return data;
  }
  const guard = (fn) => async (...args) => { showError(""); try { await fn(...args); } catch (e) { showError(e.message); } };
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) { if (k === "dataset") Object.assign(node.dataset, v); else node.setAttribute(k, v); }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  // --- tabs ---
  document.querySelectorAll("[data-tab]").forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll("[data-tab]").forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
    document.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== tab.dataset.tab; });
    if (tab.dataset.tab === "documents") loadDocuments();
    if (tab.dataset.tab === "entities") loadEntities();
    if (tab.dataset.tab === "variables") loadVariables();
  }));

  // --- articles ---
  const loadArticles = guard(async () => {
    const q = encodeURIComponent($("article-q").value), status = $("article-status").value;
    const data = await call(`articles/?search=${q}&status=${status}`);
    $("article-rows").replaceChildren(...data.results.map((a) => {
      const row = el("tr", { dataset: { id: a.id } }, el("td", {}, a.title), el("td", {}, a.kind), el("td", {}, a.status), el("td", {}, a.version), el("td", {}, new Date(a.updated_at).toLocaleString()));
      row.addEventListener("click", () => openArticle(a.id));
      return row;
    }));
  });
  const openArticle = guard(async (id) => {
    const form = $("article-form");
    form.hidden = false;
    if (id === null) { currentArticle = null; form.reset(); $("article-form-title").textContent = "New article"; $("article-history").replaceChildren(); return; }
    const a = await call(`articles/${id}/`);
    currentArticle = a;
    for (const f of ["title", "body", "kind", "source_url"]) form.elements[f].value = a[f] || "";
    form.elements.intents.value = (a.intents || []).join(", ");
    $("article-form-title").textContent = `${a.title} (v${a.version}, ${a.status})`;
    $("article-history").replaceChildren(...a.audit.map((e) => el("li", {}, `${new Date(e.created_at).toLocaleString()} · ${e.actor || "?"} · ${e.action} ${e.summary}`)));
  });
  $("article-search").addEventListener("submit", (e) => { e.preventDefault(); loadArticles(); });
  $("article-new").addEventListener("click", () => openArticle(null));
  $("article-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    const intents = f.intents.value.split(",").map((s) => s.trim()).filter(Boolean);
    const body = { title: f.title.value, body: f.body.value, kind: f.kind.value, source_url: f.source_url.value, intents };
    const saved = currentArticle ? await call(`articles/${currentArticle.id}/`, { method: "PATCH", body }) : await call("articles/", { method: "POST", body });
    await openArticle(saved.id); await loadArticles();
  }));
  $("article-publish").addEventListener("click", guard(async () => { if (!currentArticle) return; await call(`articles/${currentArticle.id}/publish/`, { method: "POST" }); await openArticle(currentArticle.id); await loadArticles(); }));
  $("article-unpublish").addEventListener("click", guard(async () => { if (!currentArticle) return; await call(`articles/${currentArticle.id}/publish/`, { method: "DELETE" }); await openArticle(currentArticle.id); await loadArticles(); }));
  $("article-delete").addEventListener("click", guard(async () => {
    if (!currentArticle || !confirm("Delete this article? It leaves search at once.")) return;
    await call(`articles/${currentArticle.id}/`, { method: "DELETE" }); $("article-form").hidden = true; currentArticle = null; await loadArticles();
  }));

  // --- documents ---
  const loadDocuments = guard(async () => {
    const data = await call("documents/");
    $("document-rows").replaceChildren(...data.results.map((d) => {
      const pii = Object.entries(d.pii_counts || {}).map(([k, v]) => `${k} ×${v}`).join(", ");
      const remove = el("button", { type: "button", class: "danger" }, "Delete");
      remove.addEventListener("click", guard(async () => { await call(`documents/${d.id}/`, { method: "DELETE" }); await loadDocuments(); }));
      return el("tr", {}, el("td", {}, d.filename), el("td", {}, d.status), el("td", {}, el("progress", { max: "100", value: String(d.progress) })), el("td", {}, d.chunk_count), el("td", { class: pii ? "flag" : "" }, pii ? `Warning: ${pii} (redacted in the index)` : "none"), el("td", { class: "flag" }, d.error), el("td", {}, remove));
    }));
    if (data.results.some((d) => d.status === "queued" || d.status === "processing")) setTimeout(loadDocuments, 1500);
  });
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault(); showError("");
    const files = Array.from($("upload-files").files);
    for (const file of files) {
      const item = el("li", {}, `${file.name}: uploading…`);
      $("upload-list").append(item);
      const form = new FormData(); form.append("file", file);
      try { const d = await call("documents/", { method: "POST", body: form }); item.textContent = `${file.name}: ${d.status}${d.error ? " — " + d.error : ""}`; }
      catch (err) { item.textContent = `${file.name}: refused — ${err.message}`; item.className = "flag"; }
    }
    await loadDocuments();
  });
  $("reindex").addEventListener("click", guard(async () => { await call("reindex/", { method: "POST" }); showError("Rebuild queued."); }));

  // --- hit test ---
  $("hit-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const channels = Array.from(document.querySelectorAll("[name=channel]:checked")).map((c) => c.value);
    const intent = $("hit-intent").value.trim() || null;
    const data = await call("hit-test/", { method: "POST", body: { query: $("hit-q").value, k: 5, channels, intent } });
    $("hit-results").replaceChildren(...(data.results.length ? data.results.map((p) => el("li", {},
      el("strong", {}, p.heading_path.join(" › ") || p.title), " ", el("small", {}, `fused ${p.score.toFixed(4)} · ${p.doc_id}`),
      p.injection_flagged ? el("div", { class: "flag" }, `Flagged as possible prompt injection (${p.injection_rules.join(", ") || "classifier"})`) : "",
      el("p", {}, p.text.slice(0, 400)),
      el("div", {}, ...p.channels.map((c) => el("span", { class: "kb__channel" }, `${c.channel} #${c.rank} (${c.score.toFixed(3)})${c.reasons.length ? ": " + c.reasons.join("; ") : ""}`))),
      p.source ? el("div", {}, el("small", {}, `source: ${p.source}`)) : ""
    )) : [el("li", {}, "Nothing found.")]));
  }));

  // --- answer variables ---
  const loadVariables = guard(async () => {
    const [data, unfilled] = await Promise.all([call("variables/"), call("variables/unfilled/")]);
    $("variable-rows").replaceChildren(...data.results.map((v) => {
      const value = el("input", { value: v.value, maxlength: "500", "aria-label": `Value of ${v.name}` });
      const save = el("button", { type: "button" }, "Save");
      save.addEventListener("click", guard(async () => { await call(`variables/${v.id}/`, { method: "PATCH", body: { value: value.value } }); await loadVariables(); }));
      const remove = el("button", { type: "button", class: "danger" }, "Delete");
      remove.addEventListener("click", guard(async () => { await call(`variables/${v.id}/`, { method: "DELETE" }); await loadVariables(); }));
      return el("tr", { dataset: { key: v.key } }, el("td", {}, `{{${v.name}}}`), el("td", {}, value), el("td", {}, save, " ", remove));
    }));
    $("variable-unfilled").replaceChildren(...(unfilled.results.length ? unfilled.results.map((u) => {
      const fill = el("button", { type: "button" }, "Fill");
      fill.addEventListener("click", () => { $("variable-name").value = u.name; $("variable-value").focus(); });
      const where = [...u.articles.map((a) => a.title), ...u.documents.map((d) => d.filename)];
      return el("li", { dataset: { key: u.key } }, el("strong", {}, `{{${u.name}}}`), ` in ${u.uses}: ${where.slice(0, 5).join("; ")}${where.length > 5 ? " …" : ""} `, fill);
    }) : [el("li", {}, "None: every variable the published knowledge uses has a value.")]));
  });
  $("variable-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    await call("variables/", { method: "POST", body: { name: f.name.value, value: f.value.value } });
    e.target.reset(); await loadVariables();
  }));

  // --- entities ---
  const loadEntities = guard(async () => {
    const data = await call(`entities/?search=${encodeURIComponent($("entity-q").value)}`);
    $("entity-list").replaceChildren(...data.results.map((x) => {
      const item = el("li", {}, `${x.name} `, el("small", {}, `${x.kind} · ${x.origin}`));
      item.addEventListener("click", () => openEntity(x.id));
      return item;
    }));
    $("relation-form").elements.tail_id.replaceChildren(...data.results.map((x) => el("option", { value: x.id }, x.name)));
  });
  $("entity-q").addEventListener("input", () => loadEntities());
  $("entity-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    await call("entities/", { method: "POST", body: { name: f.name.value, kind: f.kind.value || "thing", aliases: f.aliases.value.split(",").map((s) => s.trim()).filter(Boolean) } });
    e.target.reset(); await loadEntities();
  }));
  const openEntity = guard(async (id) => {
    const x = await call(`entities/${id}/`);
    currentEntity = x;
    $("entity-detail").hidden = false;
    $("entity-name").textContent = `${x.name} (${x.kind})${x.aliases.length ? " — " + x.aliases.join(", ") : ""}`;
    $("relation-list").replaceChildren(...x.relations.map((r) => {
      const remove = el("button", { type: "button", class: "danger" }, "×");
      remove.addEventListener("click", guard(async () => { await call(`relations/${r.id}/`, { method: "DELETE" }); await openEntity(id); }));
      return el("li", {}, `${r.head.name} —${r.relation}→ ${r.tail.name} `, remove);
    }));
    drawGraph(x.neighbourhood);
  });
  $("relation-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault(); if (!currentEntity) return;
    const f = e.target.elements;
    await call("relations/", { method: "POST", body: { head_id: currentEntity.id, tail_id: Number(f.tail_id.value), relation: f.relation.value || "related_to" } });
    await openEntity(currentEntity.id);
  }));

  // A small radial layout: the entity in the middle, its neighbours on a circle.
  function drawGraph(graph) {
    const svg = $("entity-graph"), ns = "http://www.w3.org/2000/svg";
    svg.replaceChildren();
    const others = graph.nodes.filter((n) => n.key !== graph.center);
    const pos = { [graph.center]: [200, 150] };
    others.forEach((n, i) => { const a = (2 * Math.PI * i) / Math.max(others.length, 1); pos[n.key] = [200 + 120 * Math.cos(a), 150 + 110 * Math.sin(a)]; });
    for (const e of graph.edges) {
      if (!pos[e.source] || !pos[e.target]) continue;
      const line = document.createElementNS(ns, "line");
      const [x1, y1] = pos[e.source], [x2, y2] = pos[e.target];
      Object.entries({ x1, y1, x2, y2, stroke: e.origin === "curated" ? "#1f3a5f" : "#cbd2d9", "stroke-width": e.origin === "curated" ? 2 : 1 }).forEach(([k, v]) => line.setAttribute(k, v));
      const title = document.createElementNS(ns, "title"); title.textContent = `${e.relation} (${e.origin})`; line.append(title);
      svg.append(line);
    }
    for (const n of graph.nodes) {
      const [x, y] = pos[n.key];
      const g = document.createElementNS(ns, "g");
      const c = document.createElementNS(ns, "circle");
      Object.entries({ cx: x, cy: y, r: n.key === graph.center ? 9 : 6, fill: n.key === graph.center ? "#1f3a5f" : "#9fb3c8" }).forEach(([k, v]) => c.setAttribute(k, v));
      const t = document.createElementNS(ns, "text");
      Object.entries({ x: x + 10, y: y + 4, "font-size": 11 }).forEach(([k, v]) => t.setAttribute(k, v));
      t.textContent = n.name.slice(0, 28);
      g.append(c, t);
      if (n.id) { g.style.cursor = "pointer"; g.addEventListener("click", () => openEntity(n.id)); }
      svg.append(g);
    }
  }

  loadArticles();
})();

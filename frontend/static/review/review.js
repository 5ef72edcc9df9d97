// The operator's review queue: label the next item in a few keystrokes, adjudicate (admins),
// and see agreement between labellers. Reads and writes /api/v1/workspaces/<slug>/review/.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("review-config").textContent);
  const api = config.api;
  const OUT_OF_SCOPE = "<out_of_scope>";
  const $ = (id) => document.getElementById(id);
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
  const TEXT = {
    en: {
      title: "Review queue", tab_queue: "Queue", tab_adjudication: "Adjudication", tab_agreement: "Agreement",
      keys: "Keys: 1-9 pick a suggested intent · type to filter intents (↑ ↓ move) · o out of scope · s skip · Enter submits · Esc clears the filter. (o and s while the filter is empty.)",
      empty: "Nothing to review right now.", why: "Why", predicted: "Predicted", priority: "Priority",
      double: "double-labelled", filter: "Intent", selected: "Label", slots: "Slots", slot_name: "Slot name",
      slot_add: "Add the selected text as this slot", submit: "Submit (Enter)", oos: "Out of scope (o)", skip: "Skip (s)",
      adjudication_hint: "Two labellers disagreed on these; your label is final.", text: "Text", labels: "Labels", decide: "Decide",
      agreement_hint: "Cohen's kappa on double-labelled items. Labellers below the bar are flagged.",
      labellers: "Labellers", labeller: "Labeller", best: "Best pair κ", items: "Items", flag: "Flag", pairs: "Pairs",
      pair: "Pair", observed: "Observed", expected: "By chance", per_intent: "Per intent", intent: "Intent",
      out_of_scope: "out of scope", none: "none", flagged: "below the bar", counts: "open {open} · disputed {adjudication} · done {done}",
      saved: "Saved", choose: "Choose an intent first.", remove: "remove", select_text: "Select part of the text first.",
      reasons: { low_confidence: "low confidence", out_of_scope: "out of scope", clarify: "asked to clarify", thumbs_down: "thumbs-down", handoff_after_answer: "handed off after the answer", agent_corrected: "corrected by an agent" },
    },
    zh: {
      title: "审核队列", tab_queue: "队列", tab_adjudication: "仲裁", tab_agreement: "一致性",
      keys: "按键：1-9 选择建议的意图 · 输入文字筛选意图（↑ ↓ 移动）· o 超出范围 · s 跳过 · Enter 提交 · Esc 清空筛选。（o 和 s 仅在筛选为空时有效。）",
      empty: "目前没有待审核的条目。", why: "原因", predicted: "预测", priority: "优先级",
      double: "双人标注", filter: "意图", selected: "标签", slots: "槽位", slot_name: "槽位名",
      slot_add: "把选中的文字设为此槽位", submit: "提交（Enter）", oos: "超出范围（o）", skip: "跳过（s）",
      adjudication_hint: "两位标注员意见不一致；您的标签为最终结果。", text: "文本", labels: "标签", decide: "裁定",
      agreement_hint: "双人标注条目上的 Cohen's kappa。低于标准的标注员会被标记。",
      labellers: "标注员", labeller: "标注员", best: "最佳配对 κ", items: "条目数", flag: "标记", pairs: "配对",
      pair: "配对", observed: "实际一致率", expected: "随机一致率", per_intent: "按意图", intent: "意图",
      out_of_scope: "超出范围", none: "无", flagged: "低于标准", counts: "待标注 {open} · 待仲裁 {adjudication} · 已完成 {done}",
      saved: "已保存", choose: "请先选择一个意图。", remove: "删除", select_text: "请先选中文本的一部分。",
      reasons: { low_confidence: "置信度低", out_of_scope: "超出范围", clarify: "请求澄清", thumbs_down: "差评", handoff_after_answer: "回答后转人工", agent_corrected: "客服纠正" },
    },
  };
  let lang = localStorage.getItem("review-lang") || (config.language === "zh" || navigator.language.startsWith("zh") ? "zh" : "en");
  const t = (key) => TEXT[lang][key] ?? TEXT.en[key] ?? key;
  const reason = (name) => TEXT[lang].reasons[name] || name;
  const labelName = (value) => (value === OUT_OF_SCOPE ? t("out_of_scope") : value);

  function showError(message) { $("rv-error").textContent = message || ""; }
  async function call(path, options = {}) {
    const headers = { "X-CSRFToken": csrf };
    let body;
    if (options.body !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(options.body); }
    const response = await fetch(api + path, { method: options.method || "GET", headers, body, credentials: "same-origin" });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data;
  }
  const guard = (fn) => async (...args) => { showError(""); try { await fn(...args); } catch (e) { showError(e.message); } };
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  const kappa = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(3));

  // --- the queue: one item at a time, from a batch leased to me ---
  let batch = [];
  let current = null;
  let selected = null; // an intent name or OUT_OF_SCOPE
  let slots = [];
  let matches = [];

  function showCounts(counts) {
    $("rv-counts").textContent = t("counts").replace(/\{(\w+)\}/g, (_, k) => counts[k] ?? 0);
  }
  async function loadBatch() {
    const data = await call("queue/?limit=10");
    showCounts(data.counts);
    batch = data.results;
    showNext();
  }
  function showNext() {
    current = batch.shift() || null;
    $("rv-item").hidden = !current;
    $("rv-empty").hidden = Boolean(current);
    if (!current) return;
    const item = current.item;
    $("rv-text").textContent = item.text;
    $("rv-reasons").textContent = item.reasons.map(reason).join(", ");
    $("rv-predicted").textContent = item.predicted_intent || t("none");
    $("rv-priority").textContent = current.priority.toFixed(2);
    $("rv-double").hidden = item.labels_required < 2;
    slots = item.predicted_slots.map((s) => ({ slot: s.slot, start: s.start, end: s.end }));
    $("rv-filter").value = "";
    select(null);
    renderSuggestions();
    renderIntents();
    renderSlots();
    $("rv-filter").focus();
  }
  function select(value) {
    selected = value;
    $("rv-selected").textContent = value ? labelName(value) : "–";
    document.querySelectorAll("#rv-suggestions li, #rv-intents li").forEach((li) => li.setAttribute("aria-selected", String(li.dataset.value === value)));
  }
  function renderSuggestions() {
    const list = $("rv-suggestions");
    list.replaceChildren(...current.item.suggestions.slice(0, 9).filter((s) => config.intents.includes(s.name)).map((s, i) => {
      const li = el("li", { "data-value": s.name }, `${i + 1}. ${s.name} (${Number(s.score).toFixed(2)})`);
      li.addEventListener("click", () => select(s.name));
      return li;
    }));
  }
  function renderIntents() {
    const query = $("rv-filter").value.trim().toLowerCase();
    matches = config.intents.filter((name) => !query || name.toLowerCase().includes(query));
    $("rv-intents").replaceChildren(...matches.map((name) => {
      const li = el("li", { role: "option", "data-value": name }, name);
      li.addEventListener("click", () => select(name));
      return li;
    }));
    if (query) select(matches[0] || null);
  }
  function renderSlots() {
    const text = current.item.text;
    $("rv-slot-list").replaceChildren(...slots.map((s, i) => {
      const remove = el("button", { type: "button" }, t("remove"));
      remove.addEventListener("click", () => { slots.splice(i, 1); renderSlots(); });
      return el("li", {}, `${s.slot}: "${text.slice(s.start, s.end)}" `, remove);
    }));
  }
  $("rv-slot-add").addEventListener("click", () => {
    const selection = window.getSelection();
    const node = $("rv-text").firstChild;
    const name = $("rv-slot-name").value.trim();
    if (!selection || selection.anchorNode !== node || selection.focusNode !== node || selection.isCollapsed || !name) { showError(t("select_text")); return; }
    const start = Math.min(selection.anchorOffset, selection.focusOffset);
    const end = Math.max(selection.anchorOffset, selection.focusOffset);
    slots.push({ slot: name, start, end });
    renderSlots();
  });
  const submit = guard(async (value) => {
    value = value || selected;
    if (!current) return;
    if (!value) { showError(t("choose")); return; }
    const body = value === OUT_OF_SCOPE ? { out_of_scope: true, slots: [] } : { intent: value, slots };
    await call(`items/${current.item.id}/label/`, { method: "POST", body });
    afterAnswer();
  });
  const skip = guard(async () => {
    if (!current) return;
    await call(`items/${current.item.id}/skip/`, { method: "POST" });
    afterAnswer();
  });
  function afterAnswer() { if (batch.length) showNext(); else guard(loadBatch)(); }
  $("rv-submit").addEventListener("click", () => submit());
  $("rv-oos").addEventListener("click", () => submit(OUT_OF_SCOPE));
  $("rv-skip").addEventListener("click", () => skip());
  $("rv-filter").addEventListener("input", renderIntents);

  document.addEventListener("keydown", (event) => {
    if (!current || $("rv-item").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const inFilter = target === $("rv-filter");
    if (target instanceof HTMLInputElement && !inFilter) return; // the slot name field
    const filterEmpty = $("rv-filter").value === "";
    if (filterEmpty && /^[1-9]$/.test(event.key)) {
      const pick = document.querySelectorAll("#rv-suggestions li")[Number(event.key) - 1];
      if (pick) select(pick.dataset.value);
      event.preventDefault();
    } else if (filterEmpty && event.key === "o") {
      event.preventDefault();
      submit(OUT_OF_SCOPE);
    } else if (filterEmpty && event.key === "s") {
      event.preventDefault();
      skip();
    } else if (event.key === "Enter") {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape") {
      $("rv-filter").value = "";
      renderIntents();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const at = matches.indexOf(selected);
      const next = event.key === "ArrowDown" ? Math.min(matches.length - 1, at + 1) : Math.max(0, at - 1);
      if (matches.length) select(matches[next]);
    } else if (!inFilter && event.key.length === 1) {
      $("rv-filter").focus(); // typing starts the filter
    }
  });

  // --- adjudication (admins) ---
  async function loadDisputed() {
    const data = await call("adjudication/?limit=200");
    $("rv-disputed").replaceChildren(...data.results.map((item) => {
      const choice = el("select", { "aria-label": t("decide") });
      choice.append(el("option", { value: OUT_OF_SCOPE }, t("out_of_scope")), ...config.intents.map((n) => el("option", { value: n }, n)));
      const first = item.labels[0];
      if (first) choice.value = first.out_of_scope ? OUT_OF_SCOPE : first.intent;
      const decide = el("button", { type: "button" }, t("decide"));
      decide.addEventListener("click", guard(async () => {
        const body = choice.value === OUT_OF_SCOPE ? { out_of_scope: true } : { intent: choice.value };
        await call(`items/${item.id}/adjudicate/`, { method: "POST", body });
        await loadDisputed();
      }));
      const labels = item.labels.map((l) => `${l.labeller}: ${l.out_of_scope ? t("out_of_scope") : l.intent}`).join(" · ");
      return el("tr", {}, el("td", {}, item.text), el("td", {}, labels), el("td", {}, choice, " ", decide));
    }));
  }

  // --- agreement ---
  async function loadAgreement() {
    const data = await call("agreement/");
    $("rv-labellers").replaceChildren(...data.labellers.map((l) => el("tr", {},
      el("td", {}, l.labeller), el("td", {}, kappa(l.kappa)), el("td", {}, kappa(l.best_pair_kappa)), el("td", {}, l.items),
      el("td", l.flagged ? { class: "rv__flagged" } : {}, l.flagged ? `${t("flagged")} (${data.bar})` : ""))));
    $("rv-pairs").replaceChildren(...data.pairs.map((p) => el("tr", {},
      el("td", {}, `${p.first} · ${p.second}`), el("td", { title: p.reason }, kappa(p.kappa)),
      el("td", {}, kappa(p.observed)), el("td", {}, kappa(p.expected)), el("td", {}, p.items))));
    $("rv-intent-kappas").replaceChildren(...data.intents.map((k) => el("tr", {},
      el("td", {}, labelName(k.intent)), el("td", { title: k.reason }, kappa(k.kappa)), el("td", {}, k.items))));
  }

  // --- tabs and language ---
  if (config.is_admin) document.querySelectorAll("[data-admin-only]").forEach((node) => { node.hidden = false; });
  document.querySelectorAll("[data-tab]").forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll("[data-tab]").forEach((x) => x.setAttribute("aria-selected", String(x === tab)));
    document.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== tab.dataset.tab; });
    if (tab.dataset.tab === "adjudication") guard(loadDisputed)();
    if (tab.dataset.tab === "agreement") guard(loadAgreement)();
    if (tab.dataset.tab === "queue") guard(loadBatch)();
  }));
  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
    document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang)));
    if (current) { $("rv-reasons").textContent = current.item.reasons.map(reason).join(", "); select(selected); }
  }
  document.querySelectorAll("[data-lang]").forEach((b) => b.addEventListener("click", () => {
    lang = b.dataset.lang;
    localStorage.setItem("review-lang", lang);
    applyLanguage();
  }));
  applyLanguage();
  guard(loadBatch)();
})();

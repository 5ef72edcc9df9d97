// The analyst's dashboards: every metric with its interval and previous period, a series chart
// per metric (click a bucket, or use the table under it, to see its conversations), handoffs by
// reason, latency, safety, intents, model versions, exports; then one conversation with each
// turn's trace. English and Chinese. Charts: Apache ECharts (vendored, see the Makefile).
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("analytics-config").textContent);
  const $ = (id) => document.getElementById(id);
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";

  const TEXT = {
    en: {
      title: "Analytics", filters: "Filters", start: "From", end: "To", bucket: "Bucket", hour: "hour", day: "day",
      week: "week", month: "month", language: "Language", any: "any", intent: "Intent", route: "Route",
      nlu_model: "NLU model", generator: "Generator", handed_off: "Handed off", yes: "yes", no: "no", apply: "Apply",
      overview: "Overview", kpi_hint: "Each number: value, 95% interval (Wilson), n, and the previous period. Select a number to see its conversations.",
      over_time: "Over time", metric: "Metric", series_table: "Buckets (select one to see its conversations)",
      handoff_reasons: "Handoffs by reason", latency: "Latency (ms)", safety: "Safety", down_reasons: "Thumbs-down reasons",
      intents: "Intents", rising: "Rising fastest", models: "Model versions", export: "Export (CSV, redacted)",
      export_conversations: "One row per conversation", export_turns: "One row per turn", export_series: "The metric's series",
      more: "More", loading: "Loading…", loaded: "Updated", previous: "before", conversations_of: "Conversations:",
      open: "Open", show: "Conversations", none: "none", bucket_col: "Bucket", value: "Value", interval: "95% interval",
      stage: "Stage", version: "Version", turns: "Turns", previous_turns: "Before", rise: "Rise", explain: "Explain (SHAP)",
      explaining: "Explaining… reload the conversation in a few seconds.", reason: "Reason", count: "Count",
      started: "Started", status: "Status", resolved: "Resolved", csat: "CSAT", conversation: "Conversation",
      trace: "Trace", sources: "Sources", slots: "Slots", why: "Route and reason", oos: "Out-of-scope score",
      threshold: "Confidence threshold (current setting)", stages: "Stage latencies (ms)", attributions: "Token attributions",
      metrics: {
        conversations: "Conversations", customer_messages: "Customer messages", automated_resolution: "Automated resolution",
        durable_resolution: "Durable resolution", handoff: "Handoff", handoff_explicit_request: "Handoff: asked for a person",
        handoff_sensitive_intent: "Handoff: sensitive intent", handoff_low_confidence: "Handoff: low confidence",
        handoff_negative_sentiment: "Handoff: negative sentiment", handoff_injection_policy: "Handoff: injection policy",
        handoff_other: "Handoff: other", csat_response: "CSAT response rate", csat_satisfied: "CSAT 4-5",
        csat_mean: "CSAT mean", agent_first_response: "Agent first response (s)", handoff_to_close: "Handoff to close (s)",
        turns: "Bot turns", clarify: "Clarify", oos: "Out of scope", thumbs_down: "Thumbs-down per answer",
        path_vllm: "Answers by vLLM", path_transformers: "Answers in process", path_extractive: "Extractive answers",
        path_not_found: "Nothing found", fallback: "Generator fallback", guard_blocked: "Guard blocks",
        injection_flagged: "Injections flagged", injection_refused: "Injections refused", injection_handoff: "Injections handed off",
        latency_total: "Latency total", latency_first_chunk: "First reply chunk",
      },
    },
    zh: {
      title: "数据分析", filters: "筛选", start: "开始", end: "结束", bucket: "粒度", hour: "小时", day: "天", week: "周",
      month: "月", language: "语言", any: "全部", intent: "意图", route: "路由", nlu_model: "NLU 模型", generator: "生成模型",
      handed_off: "已转人工", yes: "是", no: "否", apply: "应用", overview: "总览",
      kpi_hint: "每个数字：数值、95% 置信区间（Wilson）、样本量 n 以及上一周期。选择数字可查看对应的会话。",
      over_time: "趋势", metric: "指标", series_table: "时间段（选择一行查看会话）", handoff_reasons: "转人工原因",
      latency: "延迟（毫秒）", safety: "安全", down_reasons: "差评原因", intents: "意图", rising: "增长最快",
      models: "模型版本", export: "导出（CSV，已脱敏）", export_conversations: "每个会话一行", export_turns: "每轮一行",
      export_series: "指标序列", more: "更多", loading: "加载中…", loaded: "已更新", previous: "上期",
      conversations_of: "会话：", open: "打开", show: "会话", none: "无", bucket_col: "时间段", value: "数值",
      interval: "95% 区间", stage: "阶段", version: "版本", turns: "轮次", previous_turns: "上期", rise: "增幅",
      explain: "解释（SHAP）", explaining: "正在解释……几秒后重新打开会话。", reason: "原因", count: "次数",
      started: "开始时间", status: "状态", resolved: "已解决", csat: "满意度", conversation: "会话", trace: "轨迹",
      sources: "来源", slots: "槽位", why: "路由与原因", oos: "域外得分", threshold: "置信度阈值（当前设置）",
      stages: "各阶段延迟（毫秒）", attributions: "词元归因",
      metrics: {
        conversations: "会话数", customer_messages: "客户消息", automated_resolution: "自动解决率", durable_resolution: "持久解决率",
        handoff: "转人工率", handoff_explicit_request: "转人工：客户要求", handoff_sensitive_intent: "转人工：敏感意图",
        handoff_low_confidence: "转人工：低置信度", handoff_negative_sentiment: "转人工：负面情绪",
        handoff_injection_policy: "转人工：注入策略", handoff_other: "转人工：其他", csat_response: "满意度回复率",
        csat_satisfied: "满意度 4-5 分", csat_mean: "满意度均值", agent_first_response: "客服首次响应（秒）",
        handoff_to_close: "转人工至关闭（秒）", turns: "机器人轮次", clarify: "澄清率", oos: "域外率",
        thumbs_down: "每个回答的差评率", path_vllm: "vLLM 回答", path_transformers: "进程内回答", path_extractive: "抽取式回答",
        path_not_found: "未找到", fallback: "生成回退", guard_blocked: "输出拦截", injection_flagged: "注入标记",
        injection_refused: "注入拒绝", injection_handoff: "注入转人工", latency_total: "总延迟", latency_first_chunk: "首个回复片段",
      },
    },
  };
  const KPIS = [
    "conversations", "automated_resolution", "durable_resolution", "handoff", "clarify", "oos", "thumbs_down",
    "csat_mean", "csat_satisfied", "csat_response", "agent_first_response", "handoff_to_close", "turns", "fallback",
    "guard_blocked",
  ];
  const REASONS = ["explicit_request", "sensitive_intent", "low_confidence", "negative_sentiment", "injection_policy", "other"];
  const SERIES_METRICS = [
    "conversations", "automated_resolution", "durable_resolution", "handoff", "csat_satisfied", "csat_mean",
    "agent_first_response", "turns", "clarify", "oos", "thumbs_down", "fallback", "path_vllm", "path_extractive",
    "guard_blocked", "injection_flagged", "latency_total", "latency_first_chunk",
  ];

  let lang = localStorage.getItem("analytics-lang") || (config.language === "zh" || navigator.language.startsWith("zh") ? "zh" : "en");
  const t = (key) => TEXT[lang][key] ?? TEXT.en[key] ?? key;
  const metricName = (name) => TEXT[lang].metrics[name] || TEXT.en.metrics[name] || name;
  let summary = null;
  let series = null;
  let drill = null;
  const charts = {};

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "dataset") Object.assign(node.dataset, v);
      else if (k === "onclick") node.addEventListener("click", v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
    return node;
  }
  const showError = (message) => { $("an-error").textContent = message || ""; };
  const status = (message) => { $("an-status").textContent = message || ""; };

  async function call(path, params = {}, options = {}) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined));
    const response = await fetch(`${path}?${query}`, {
      method: options.method || "GET", credentials: "same-origin", headers: { "X-CSRFToken": csrf },
    });
    if (response.status === 202 || response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data;
  }
  const api = (path, params) => call(config.api + path, params);
  const guard = (fn) => async (...args) => { showError(""); try { await fn(...args); } catch (e) { showError(e.message); status(""); } };

  // --- filters ---
  function isoDay(date) { return date.toISOString().slice(0, 10); }
  (function defaults() {
    const params = new URLSearchParams(location.search);
    const today = new Date();
    $("f-end").value = params.get("end") || isoDay(today);
    $("f-start").value = params.get("start") || isoDay(new Date(today.getTime() - 29 * 86400000));
    for (const name of ["bucket", "language", "intent", "route", "nlu_model", "generator", "handed_off"]) {
      const field = $("an-filters").elements[name];
      if (params.get(name)) field.value = params.get(name);
    }
  })();
  function filters() {
    const form = $("an-filters").elements;
    const out = {};
    for (const name of ["start", "end", "language", "intent", "route", "nlu_model", "generator", "handed_off"]) out[name] = form[name].value.trim();
    return out;
  }
  const bucket = () => $("f-bucket").value;

  // --- formatting ---
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
  const num = (v, digits = 0) => (v === null || v === undefined ? "–" : Number(v).toLocaleString(lang === "zh" ? "zh-CN" : "en", { maximumFractionDigits: digits }));
  function describe(name, value) {
    if (!value) return { main: "–", detail: "" };
    if ("k" in value) return { main: pct(value.value), detail: `[${pct(value.low)}–${pct(value.high)}] n=${value.n}` };
    if (name === "csat_mean") return { main: num(value.value, 2), detail: value.low === null ? `n=${value.n}` : `[${num(value.low, 2)}–${num(value.high, 2)}] n=${value.n}` };
    if ("p50" in value && "mean" in value) return { main: num(value.p50, 0), detail: `P90 ${num(value.p90, 0)} · n=${value.n}` };
    if ("p50" in value) return { main: num(value.p50, 1), detail: `P90 ${num(value.p90, 1)} · P99 ${num(value.p99, 1)} · n=${value.n}` };
    return { main: num(value.value), detail: "" };
  }

  // --- overview ---
  function renderKpis() {
    $("an-kpis").replaceChildren(...KPIS.map((name) => {
      const metric = summary.metrics[name];
      const now = describe(name, metric.current);
      const before = describe(name, metric.previous);
      return el("button", { type: "button", class: "an__kpi", dataset: { metric: name }, onclick: () => openDrill(name) },
        el("span", { class: "an__kpi-name" }, metricName(name)),
        el("span", { class: "an__kpi-value" }, now.main),
        el("span", { class: "an__kpi-detail" }, now.detail),
        el("span", { class: "an__kpi-previous" }, `${t("previous")}: ${before.main} ${before.detail}`));
    }));
  }

  function chart(id) {
    if (!window.echarts) return null;
    if (!charts[id]) charts[id] = window.echarts.init($(id), null, { renderer: "svg" });
    return charts[id];
  }

  // --- series ---
  function pointValue(point) {
    if ("k" in point) return point.value;
    if ("p50" in point) return point.p50;
    return point.value;
  }
  function renderSeries() {
    const metric = $("an-metric").value;
    const labels = series.points.map((p) => p.start.slice(0, bucket() === "hour" ? 16 : 10).replace("T", " "));
    const values = series.points.map(pointValue);
    const isRate = series.points.length && "k" in series.points[0];
    const instance = chart("an-series-chart");
    if (instance) {
      const main = { name: metricName(metric), type: isRate ? "line" : "bar", data: values, connectNulls: false, symbolSize: 9, itemStyle: { color: "#1f3a5f" } };
      const seriesList = [main];
      if (isRate) {
        seriesList.unshift(
          { name: "low", type: "line", data: series.points.map((p) => p.low), stack: "ci", lineStyle: { opacity: 0 }, symbol: "none", silent: true },
          { name: t("interval"), type: "line", data: series.points.map((p) => (p.high === null ? null : p.high - p.low)), stack: "ci", lineStyle: { opacity: 0 }, areaStyle: { color: "#9fb3c8", opacity: 0.4 }, symbol: "none", silent: true },
        );
      }
      instance.setOption({
        aria: { enabled: true },
        tooltip: { trigger: "axis" },
        grid: { left: 60, right: 20, top: 20, bottom: 40 },
        xAxis: { type: "category", data: labels },
        yAxis: { type: "value", axisLabel: isRate ? { formatter: (v) => `${Math.round(v * 100)}%` } : {} },
        series: seriesList,
      }, true);
      // A click anywhere in a bucket's column (not only on its bar or point) opens it.
      const zr = instance.getZr();
      zr.off("click");
      zr.on("click", (event) => {
        const pixel = [event.offsetX, event.offsetY];
        if (!instance.containPixel("grid", pixel)) return;
        const [index] = instance.convertFromPixel({ gridIndex: 0 }, pixel);
        const point = series.points[Math.round(index)];
        if (point) openDrill(metric, point.start);
      });
    }
    $("an-series-chart").dataset.metric = metric;
    const head = el("tr", {}, el("th", {}, t("bucket_col")), el("th", {}, t("value")), el("th", {}, "n"), el("th", {}, t("interval")), el("th", {}));
    $("an-series-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...series.points.map((point, index) => {
      const text = describe(metric, point);
      return el("tr", {}, el("td", {}, labels[index]), el("td", {}, text.main), el("td", {}, point.n ?? point.value ?? ""),
        el("td", {}, "low" in point && point.low !== null && "k" in point ? `${pct(point.low)}–${pct(point.high)}` : ""),
        el("td", {}, el("button", { type: "button", class: "an__link", dataset: { bucket: point.start }, onclick: () => openDrill(metric, point.start) }, t("show"))));
    })));
  }
  const loadSeries = guard(async () => {
    series = await api("series/", { ...filters(), metric: $("an-metric").value, bucket: bucket() });
    renderSeries();
    exportLinks();
  });

  // --- handoffs, latency, safety ---
  function rateRow(name, value, previous) {
    return el("tr", {},
      el("td", {}, el("button", { type: "button", class: "an__link", onclick: () => openDrill(name) }, metricName(name))),
      el("td", {}, pct(value.value)), el("td", {}, `${pct(value.low)}–${pct(value.high)}`), el("td", {}, `${value.k}/${value.n}`),
      el("td", {}, previous ? pct(previous.value) : ""));
  }
  function renderHandoffs() {
    const names = REASONS.map((r) => `handoff_${r}`);
    const instance = chart("an-handoff-chart");
    if (instance) {
      instance.setOption({
        aria: { enabled: true },
        tooltip: {},
        grid: { left: 170, right: 20, top: 10, bottom: 20 },
        xAxis: { type: "value" },
        yAxis: { type: "category", data: names.map(metricName) },
        series: [{ type: "bar", data: names.map((n) => summary.metrics[n].current.k), itemStyle: { color: "#486581" } }],
      }, true);
      instance.off("click");
      instance.on("click", (params) => openDrill(names[params.dataIndex]));
    }
    const head = el("tr", {}, ...["", t("value"), t("interval"), "k/n", t("previous")].map((h) => el("th", {}, h)));
    $("an-handoff-table").replaceChildren(el("thead", {}, head), el("tbody", {},
      rateRow("handoff", summary.metrics.handoff.current, summary.metrics.handoff.previous),
      ...names.map((n) => rateRow(n, summary.metrics[n].current, summary.metrics[n].previous))));
  }
  function renderLatency() {
    const head = el("tr", {}, ...[t("stage"), "P50", "P90", "P99", "n", `P50 ${t("previous")}`].map((h) => el("th", {}, h)));
    const rows = Object.entries(summary.latency).map(([stage, value]) => el("tr", {},
      el("td", {}, stage), el("td", {}, num(value.current.p50, 1)), el("td", {}, num(value.current.p90, 1)),
      el("td", {}, num(value.current.p99, 1)), el("td", {}, value.current.n), el("td", {}, value.previous ? num(value.previous.p50, 1) : "–")));
    $("an-latency-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
    const safety = ["injection_flagged", "injection_refused", "injection_handoff", "guard_blocked", "path_vllm", "path_transformers", "path_extractive", "path_not_found", "fallback"];
    const safetyHead = el("tr", {}, ...["", t("value"), t("interval"), "k/n", t("previous")].map((h) => el("th", {}, h)));
    $("an-safety-table").replaceChildren(el("thead", {}, safetyHead), el("tbody", {},
      ...safety.map((n) => rateRow(n, summary.metrics[n].current, summary.metrics[n].previous)),
      ...summary.redactions.map((r) => el("tr", {}, el("td", {}, `PII ${r.type}`), el("td", {}, r.current), el("td", {}), el("td", {}), el("td", {}, r.previous)))));
    const reasons = summary.thumbs_down_reasons;
    $("an-reasons").replaceChildren(...(reasons.length ? reasons.map((r) => el("li", {}, `${r.reason} (${r.count})`)) : [el("li", {}, t("none"))]));
  }

  // --- intents and models ---
  function renderIntents(data) {
    $("an-intents").replaceChildren(...data.intents.map((row) => el("option", { value: row.intent })));
    $("an-rising").textContent = data.rising.length ? data.rising.join(", ") : t("none");
    const head = el("tr", {}, ...[t("intent"), t("turns"), t("previous_turns"), t("rise"), metricName("thumbs_down"), metricName("automated_resolution")].map((h) => el("th", {}, h)));
    $("an-intent-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...data.intents.map((row) => el("tr", {},
      el("td", {}, el("button", { type: "button", class: "an__link", onclick: () => { $("f-intent").value = row.intent; reload(); } }, row.intent || "(none)")),
      el("td", {}, row.turns), el("td", {}, row.previous_turns), el("td", {}, `×${row.rise.toFixed(2)}`),
      el("td", {}, `${pct(row.thumbs_down.value)} (n=${row.thumbs_down.n})`),
      el("td", {}, `${pct(row.automated_resolution.value)} (n=${row.automated_resolution.n})`)))));
    const instance = chart("an-intent-chart");
    if (instance) {
      instance.setOption({
        aria: { enabled: true },
        tooltip: { trigger: "axis" },
        legend: { type: "scroll", top: 0 },
        grid: { left: 50, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", data: data.trend.starts.map((s) => s.slice(0, 10)) },
        yAxis: { type: "value" },
        series: Object.entries(data.trend.turns).map(([intent, values]) => ({ name: intent || "(none)", type: "line", data: values })),
      }, true);
    }
  }
  function renderModels(data) {
    const columns = ["conversations", "automated_resolution", "handoff", "csat_satisfied", "turns", "clarify", "thumbs_down", "fallback"];
    const head = el("tr", {}, el("th", {}, t("version")), ...columns.map((c) => el("th", {}, metricName(c))), el("th", {}, "P50 total"), el("th", {}, "P50 first chunk"));
    const body = [];
    for (const [dimension, label] of [["nlu_model", t("nlu_model")], ["generator", t("generator")]]) {
      body.push(el("tr", {}, el("th", { colspan: columns.length + 3, scope: "rowgroup" }, label)));
      for (const row of data[dimension]) {
        body.push(el("tr", {}, el("td", {}, row.version || "(none)"),
          ...columns.map((c) => el("td", {}, "k" in row[c] ? `${pct(row[c].value)} [${pct(row[c].low)}–${pct(row[c].high)}] n=${row[c].n}` : num(row[c].value))),
          el("td", {}, num(row.latency_total.p50, 1)), el("td", {}, num(row.latency_first_chunk.p50, 1))));
      }
    }
    $("an-model-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  }

  function exportLinks() {
    const query = (extra = {}) => new URLSearchParams(Object.entries({ ...filters(), ...extra }).filter(([, v]) => v)).toString();
    $("export-conversations").href = `${config.api}export/conversations.csv?${query()}`;
    $("export-turns").href = `${config.api}export/turns.csv?${query()}`;
    $("export-series").href = `${config.api}export/series.csv?${query({ metric: $("an-metric").value, bucket: bucket() })}`;
  }

  // --- drill-down ---
  async function openDrill(metric, bucketStart = null, offset = 0) {
    showError("");
    try {
      const params = { ...filters(), metric, bucket: bucket(), bucket_start: bucketStart, limit: 50, offset };
      const page = await api("conversations/", params);
      drill = { metric, bucketStart, offset, page };
      const section = $("an-drill");
      section.hidden = false;
      $("an-drill-title").textContent = `${t("conversations_of")} ${metricName(metric)}${bucketStart ? ` · ${bucketStart.slice(0, 16).replace("T", " ")}` : ""} (${page.count})`;
      const head = el("tr", {}, ...["#", t("started"), t("intent"), t("status"), t("handed_off"), t("resolved"), t("csat"), ""].map((h) => el("th", {}, h)));
      const rows = page.results.map((row) => el("tr", { dataset: { id: row.conversation_id } },
        el("td", {}, row.conversation_id), el("td", {}, new Date(row.started_at).toLocaleString(lang === "zh" ? "zh-CN" : "en")),
        el("td", {}, row.intent), el("td", {}, row.status), el("td", {}, row.handed_off ? `${t("yes")} (${row.handoff_category})` : t("no")),
        el("td", {}, row.settled ? (row.resolved ? t("yes") : t("no")) : "…"), el("td", {}, row.csat_score ?? ""),
        el("td", {}, el("button", { type: "button", class: "an__link", onclick: () => openConversation(row.conversation_id) }, t("open")))));
      $("an-drill-table").replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
      $("an-drill-more").hidden = !page.next;
      section.focus();
    } catch (e) { showError(e.message); }
  }
  $("an-drill-more").addEventListener("click", () => drill && openDrill(drill.metric, drill.bucketStart, drill.offset + 50));

  function dl(pairs) {
    return el("dl", { class: "an__facts" }, ...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }
  async function openConversation(id) {
    showError("");
    try {
      const c = await api(`conversations/${id}/`);
      const section = $("an-conversation");
      section.hidden = false;
      $("an-conversation-title").textContent = `${t("conversation")} #${c.id} · ${c.status}`;
      const facts = c.facts || {};
      $("an-conversation-facts").replaceWith(Object.assign(dl([
        [t("started"), new Date(c.created_at).toLocaleString(lang === "zh" ? "zh-CN" : "en")],
        [t("handed_off"), c.handoff_reason || t("no")],
        [t("resolved"), facts.settled ? `${facts.resolved ? t("yes") : t("no")}${facts.reopened ? " (reopened)" : ""}${facts.durable ? " · durable" : ""}` : "…"],
        [t("csat"), c.csat_score ? `${c.csat_score} ${c.csat_comment}` : "–"],
      ]), { id: "an-conversation-facts" }));
      const byCustomerMessage = Object.fromEntries(c.turns.map((turn) => [turn.customer_message_id, turn]));
      const items = c.messages.map((m) => {
        const item = el("li", { class: `an__msg an__msg--${m.sender}` }, el("strong", {}, `${m.sender}: `), m.text,
          m.feedback ? el("span", { class: "an__feedback" }, ` 👍👎 ${m.feedback.rating}${m.feedback.reason ? `: ${m.feedback.reason}` : ""}`) : "");
        const turn = byCustomerMessage[m.id];
        if (turn) item.append(traceView(turn));
        return item;
      });
      $("an-conversation-turns").replaceChildren(...items);
      section.focus();
    } catch (e) { showError(e.message); }
  }
  function traceView(turn) {
    const intents = (turn.intents || []).map((i) => `${i.name} ${Number(i.score).toFixed(2)}`).join(", ") || "–";
    const sources = (turn.sources || []).map((s) => `${s.title || s.id} (${Object.entries(s.channels || {}).map(([k, v]) => `${k} ${v}`).join(", ") || s.score || ""})`);
    const slots = (turn.slots || []).map((s) => `${s.slot}=${s.value}`).join(", ") || "–";
    const stages = Object.entries(turn.latency_ms || {}).map(([k, v]) => `${k} ${v}`).join(" · ");
    const details = el("details", { class: "an__trace" }, el("summary", {}, `${t("trace")}: ${turn.route} · ${turn.intent || "–"}`),
      dl([
        [t("why"), `${turn.route}: ${turn.route_reason}`],
        [t("intent"), intents],
        [t("oos"), `${turn.oos_score ?? "–"}${turn.oos ? " (OOS)" : ""}`],
        [t("threshold"), String(turn.min_confidence_now)],
        [t("slots"), slots],
        [t("sources"), sources.join("; ") || "–"],
        [t("generator"), JSON.stringify(turn.generator || {})],
        ["Guard", JSON.stringify(turn.guard || {})],
        [t("stages"), stages],
        [t("nlu_model"), turn.nlu_model || "–"],
        [t("attributions"), turn.explanation ? turn.explanation.tokens.map((tok) => `${tok.token} ${Number(tok.weight).toFixed(3)}`).join(" · ") : "–"],
      ]));
    if (turn.intent && !turn.explanation) {
      details.append(el("button", { type: "button", onclick: guard(async () => {
        await call(`${config.explain_api}${turn.id}/explain/`, {}, { method: "POST" });
        status(t("explaining"));
      }) }, t("explain")));
    }
    return details;
  }

  // --- loading ---
  const reload = guard(async () => {
    status(t("loading"));
    const params = filters();
    const [s, intents, models] = await Promise.all([
      api("summary/", params), api("intents/", { ...params, bucket: bucket() }), api("models/", params),
    ]);
    summary = s;
    renderKpis(); renderHandoffs(); renderLatency(); renderIntents(intents); renderModels(models);
    await loadSeries();
    history.replaceState(null, "", `?${new URLSearchParams(Object.entries({ ...params, bucket: bucket() }).filter(([, v]) => v))}`);
    status(`${t("loaded")} ${new Date().toLocaleTimeString(lang === "zh" ? "zh-CN" : "en")}`);
  });

  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
    document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang)));
    const select = $("an-metric");
    const current = select.value || "automated_resolution";
    select.replaceChildren(...SERIES_METRICS.map((name) => el("option", { value: name }, metricName(name))));
    select.value = current;
    if (summary) { renderKpis(); renderHandoffs(); renderLatency(); }
    if (series) renderSeries();
  }
  document.querySelectorAll("[data-lang]").forEach((b) => b.addEventListener("click", () => {
    lang = b.dataset.lang;
    localStorage.setItem("analytics-lang", lang);
    applyLanguage();
  }));
  $("an-filters").addEventListener("submit", (event) => { event.preventDefault(); reload(); });
  $("an-metric").addEventListener("change", () => loadSeries());
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

  applyLanguage();
  reload();
})();

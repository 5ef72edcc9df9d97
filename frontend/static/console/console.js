/*
 * Agent console: the live queue on the left, the open conversation on the right.
 * Wire protocol: apps/chat/PROTOCOL.md (agent socket). Page: templates/pages/console.html.
 * Message text is untrusted: it only ever reaches the page through textContent.
 */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("console-config").textContent);
  const WS_URL = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${config.ws_path}`;
  const ME = config.username;
  const BACKOFF_START_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const RATE_LIMIT_RETRY_MS = 4000;
  const TYPING_IDLE_MS = 3000;
  const CUSTOMER_TYPING_SHOWN_MAX_MS = 10000;
  const NOTES_REFRESH_DELAY_MS = 800;
  const AGE_REFRESH_MS = 30000;

  const STATUS_LABELS = {
    bot: "With the bot",
    waiting_for_agent: "Waiting",
    with_agent: "With an agent",
    closed: "Closed",
  };
  const STATUS_ORDER = { waiting_for_agent: 0, with_agent: 1 }; // the live queue holds only these
  const SENDER_LABELS = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };

  const $ = (id) => document.getElementById(id);
  const ui = {
    connection: $("console-connection"),
    alert: $("console-error"),
    announcer: $("console-announcer"),
    queue: $("queue-list"),
    queueCount: $("queue-count"),
    queueEmpty: $("queue-empty"),
    title: $("thread-title"),
    meta: $("thread-meta"),
    claim: $("action-claim"),
    release: $("action-release"),
    close: $("action-close"),
    messages: $("thread-messages"),
    typing: $("thread-typing"),
    form: $("reply-form"),
    input: $("reply-input"),
    send: $("reply-send"),
    outcome: $("outcome-form"),
    outcomeIntent: $("outcome-intent"),
    outcomeWrong: $("outcome-wrong"),
    outcomeStatus: $("outcome-status"),
  };

  const state = {
    ws: null,
    connected: false,
    everConnected: false,
    stopped: false,
    attempts: 0,
    reconnectTimer: null,
    queue: new Map(), // conversation id -> ConversationSummary
    waitingSince: new Map(), // conversation id -> order in which it started waiting
    waitingCounter: 0,
    rows: new Map(), // conversation id -> <li>
    unread: new Set(),
    openId: null,
    open: null, // {summary, byId, byClientId, streams} for openId once its `conversation` arrived
    pending: new Map(), // client_message_id -> {conversation_id, text}; the agent's unacknowledged replies
    typingSentAt: 0,
    typingStopTimer: null,
    notesRefreshTimer: null,
  };

  // ---------------------------------------------------------------- helpers

  function h(tag, props = {}, children = []) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value == null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of [].concat(children)) if (child != null) el.append(child);
    return el;
  }

  function newClientMessageId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return `a-${crypto.randomUUID()}`;
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return `a-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  function safeUrl(value) {
    try {
      const url = new URL(String(value), location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function parseDate(iso) {
    const date = iso ? new Date(iso) : null;
    return date && !Number.isNaN(date.getTime()) ? date : null;
  }

  function formatAge(iso) {
    const date = parseDate(iso);
    if (!date) return "";
    const minutes = Math.max(0, Math.floor((Date.now() - date.getTime()) / 60000));
    if (minutes < 1) return "just now";
    if (minutes < 60) return `${minutes} min`;
    if (minutes < 60 * 24) return `${Math.floor(minutes / 60)} h`;
    return `${Math.floor(minutes / (60 * 24))} d`;
  }

  function formatTime(iso) {
    const date = parseDate(iso);
    return date ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  }

  function announce(text) {
    ui.announcer.textContent = "";
    setTimeout(() => {
      ui.announcer.textContent = text;
    }, 50);
  }

  let alertTimer = null;
  function showAlert(text) {
    ui.alert.textContent = text;
    clearTimeout(alertTimer);
    alertTimer = setTimeout(() => {
      ui.alert.textContent = "";
    }, 10000);
  }

  function setConnection(stateName, text) {
    ui.connection.dataset.state = stateName;
    ui.connection.textContent = text;
  }

  // ---------------------------------------------------------------- queue

  function sortedQueue() {
    const rank = (c) => STATUS_ORDER[c.status];
    const time = (iso) => (parseDate(iso) || new Date(0)).getTime();
    return [...state.queue.values()].sort((a, b) => {
      if (rank(a) !== rank(b)) return rank(a) - rank(b);
      // Waiting: longest-waiting first (the summary has no request time; the server's queue is
      // in that order and later requests come after). With an agent: most recently active first.
      if (a.status === "waiting_for_agent") {
        return (state.waitingSince.get(a.id) ?? 0) - (state.waitingSince.get(b.id) ?? 0);
      }
      return time(b.last_message_at || b.created_at) - time(a.last_message_at || a.created_at) || b.id - a.id;
    });
  }

  function queueRow(id) {
    let row = state.rows.get(id);
    if (!row) {
      row = h("li", { class: "qi", "data-testid": "agent-queue-item", "data-conversation-id": id }, [
        h("button", { type: "button", class: "qi__btn", onclick: () => openConversation(id) }),
      ]);
      state.rows.set(id, row);
    }
    return row;
  }

  function fillRow(row, summary) {
    const status = summary.status;
    row.dataset.status = status;
    row.classList.toggle("is-open", summary.id === state.openId);
    row.classList.toggle("is-unread", state.unread.has(summary.id));
    if (state.unread.has(summary.id)) row.dataset.unread = "true";
    else delete row.dataset.unread;
    const button = row.firstElementChild;
    if (summary.id === state.openId) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
    const assignee = summary.assigned_agent
      ? summary.assigned_agent === ME
        ? "you"
        : summary.assigned_agent
      : null;
    const parts = [
      h("span", { class: "qi__top" }, [
        h("span", { class: "qi__id", text: `#${summary.id}` }),
        h("span", {
          class: `qi__status status status--${status}`,
          text: STATUS_LABELS[status] || status,
        }),
        assignee ? h("span", { class: "qi__assignee", text: assignee }) : null,
        state.unread.has(summary.id) ? h("span", { class: "qi__unread", text: "new" }) : null,
        h("span", {
          class: "qi__age",
          "data-created": summary.created_at || "",
          title: summary.created_at ? `Started ${parseDate(summary.created_at)?.toLocaleString() ?? ""}` : null,
          text: formatAge(summary.created_at),
        }),
      ]),
      h("span", { class: "qi__preview", text: summary.last_message || "No messages yet" }),
    ];
    if (summary.handoff_reason) parts.push(h("span", { class: "qi__reason", text: summary.handoff_reason }));
    button.replaceChildren(...parts);
  }

  function renderQueue() {
    const order = sortedQueue();
    for (const [id, row] of state.rows) {
      if (!state.queue.has(id)) {
        row.remove();
        state.rows.delete(id);
      }
    }
    order.forEach((summary) => fillRow(queueRow(summary.id), summary));
    // Reorder only when needed: moving a row would take keyboard focus away from it.
    const current = [...ui.queue.children];
    const desired = order.map((summary) => state.rows.get(summary.id));
    if (current.length !== desired.length || current.some((row, i) => row !== desired[i])) {
      const focused = document.activeElement;
      ui.queue.append(...desired);
      if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
    }
    const waiting = order.filter((c) => c.status === "waiting_for_agent").length;
    ui.queueCount.textContent = waiting ? `${waiting} waiting` : "";
    ui.queueEmpty.hidden = order.length > 0;
  }

  function refreshAges() {
    for (const el of ui.queue.querySelectorAll(".qi__age")) el.textContent = formatAge(el.dataset.created);
  }

  function inQueue(summary) {
    return Object.prototype.hasOwnProperty.call(STATUS_ORDER, summary.status);
  }

  // Keeps the queue to live conversations; a conversation joins the end of the waiting line.
  function queuePut(summary) {
    if (!inQueue(summary)) {
      state.queue.delete(summary.id);
      state.waitingSince.delete(summary.id);
      return;
    }
    state.queue.set(summary.id, { ...state.queue.get(summary.id), ...summary });
    if (summary.status !== "waiting_for_agent") state.waitingSince.delete(summary.id);
    else if (!state.waitingSince.has(summary.id)) state.waitingSince.set(summary.id, ++state.waitingCounter);
  }

  function onQueue(conversations) {
    state.queue.clear();
    state.waitingSince.clear();
    for (const summary of conversations || []) if (summary && summary.id != null) queuePut(summary);
    for (const id of state.unread) if (!state.queue.has(id)) state.unread.delete(id);
    renderQueue();
  }

  function onConversationUpdated(summary) {
    if (!summary || summary.id == null) return;
    const previous = state.queue.get(summary.id);
    queuePut(summary);
    renderQueue();
    if (summary.status === "waiting_for_agent" && (!previous || previous.status !== "waiting_for_agent")) {
      const reason = summary.handoff_reason ? `: ${summary.handoff_reason}` : "";
      announce(`Conversation #${summary.id} is waiting for an agent${reason}`);
      const row = state.rows.get(summary.id);
      if (row) {
        row.classList.remove("is-new");
        void row.offsetWidth; // restart the highlight animation
        row.classList.add("is-new");
        row.addEventListener("animationend", () => row.classList.remove("is-new"), { once: true });
      }
    }
    if (summary.id === state.openId && state.open) {
      state.open.summary = { ...state.open.summary, ...summary };
      renderThreadHead();
    }
  }

  // ---------------------------------------------------------------- open conversation

  function openConversation(id) {
    if (state.openId !== id) {
      stopTyping();
      state.openId = id;
      state.open = null;
      ui.messages.replaceChildren(h("p", { class: "thread__empty", text: "Loading…" }));
      hideCustomerTyping();
    }
    state.unread.delete(id);
    renderQueue();
    renderThreadHead();
    send({ type: "conversation.open", conversation_id: id });
  }

  function onConversation(event) {
    const summary = event.conversation;
    if (!summary || summary.id !== state.openId) return;
    const stick = !state.open || isNearBottom();
    state.open = { summary, byId: new Map(), byClientId: new Map(), streams: new Map() };
    ui.messages.replaceChildren();
    const messages = event.messages || [];
    if (!messages.length) ui.messages.append(h("p", { class: "thread__empty", text: "No messages yet." }));
    for (const message of messages) appendMessage(message);
    for (const note of event.notes || []) attachNote(note);
    for (const [clientId, entry] of state.pending) {
      if (entry.conversation_id === summary.id && !state.open.byClientId.has(clientId)) {
        appendPending(clientId, entry);
      }
    }
    queuePut(summary);
    state.unread.delete(summary.id);
    renderQueue();
    renderThreadHead();
    if (stick) scrollToBottom();
    loadOutcome(summary.id);
  }

  // ---------------------------------------------------------------- outcome (learning loop)
  // A handed-off conversation's outcome: the intent the agent resolved it under and whether
  // the bot's answer was wrong. The review app turns it into a weak label.
  function outcomeUrl(id) {
    return `/api/v1/workspaces/${encodeURIComponent(config.workspace)}/review/handoff-outcomes/${id}/`;
  }

  function csrfToken() {
    return (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
  }

  async function loadOutcome(id) {
    ui.outcome.hidden = true;
    let form;
    try {
      const response = await fetch(outcomeUrl(id), { credentials: "same-origin" });
      if (!response.ok) return; // not an agent of this workspace's review, or gone
      form = await response.json();
    } catch {
      return;
    }
    if (state.openId !== id || !form.handed_off) return;
    ui.outcomeIntent.replaceChildren(
      h("option", { value: "", text: "no intent" }),
      ...form.intents.map((name) => h("option", { value: name, text: name })),
    );
    ui.outcomeIntent.value = form.outcome ? form.outcome.resolved_intent : "";
    ui.outcomeWrong.checked = Boolean(form.outcome && form.outcome.bot_answer_wrong);
    ui.outcomeStatus.textContent = form.outcome ? "Saved" : "";
    ui.outcome.hidden = false;
  }

  ui.outcome.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = state.openId;
    if (id == null) return;
    ui.outcomeStatus.textContent = "Saving…";
    try {
      const response = await fetch(outcomeUrl(id), {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({
          resolved_intent: ui.outcomeIntent.value,
          bot_answer_wrong: ui.outcomeWrong.checked,
        }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        ui.outcomeStatus.textContent = "";
        showAlert((body.error && body.error.message) || `The outcome was not saved (${response.status}).`);
        return;
      }
      ui.outcomeStatus.textContent = "Saved";
      announce("Outcome saved");
    } catch {
      ui.outcomeStatus.textContent = "";
      showAlert("The outcome was not saved: the connection failed.");
    }
  });

  function renderThreadHead() {
    const id = state.openId;
    if (id == null) return;
    const summary = (state.open && state.open.summary) || state.queue.get(id) || { id, status: null };
    ui.title.textContent = `Conversation #${id}`;
    const parts = [];
    if (summary.status) parts.push(STATUS_LABELS[summary.status] || summary.status);
    if (summary.assigned_agent) {
      parts.push(summary.assigned_agent === ME ? "assigned to you" : `assigned to ${summary.assigned_agent}`);
    }
    if (summary.created_at) parts.push(`started ${parseDate(summary.created_at)?.toLocaleString() ?? ""}`);
    if (summary.handoff_reason) parts.push(`reason: ${summary.handoff_reason}`);
    ui.meta.textContent = parts.join(" · ");

    const loaded = Boolean(state.open);
    const closed = summary.status === "closed";
    const mine = summary.assigned_agent === ME;
    const free = !summary.assigned_agent;
    ui.claim.disabled = !loaded || closed || !free;
    ui.release.disabled = !loaded || closed || !mine;
    ui.close.disabled = !loaded || closed || !(mine || free);
    const canReply = loaded && mine && summary.status === "with_agent";
    ui.input.disabled = !canReply;
    ui.send.disabled = !canReply;
    ui.input.placeholder = canReply
      ? "Reply to the customer… (Enter sends, Shift+Enter adds a line)"
      : closed
        ? "This conversation is closed"
        : summary.assigned_agent && !mine
          ? `Assigned to ${summary.assigned_agent}`
          : "Claim the conversation to reply";
  }

  function isNearBottom() {
    const m = ui.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToBottom() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function withScroll(fn, force = false) {
    const stick = force || isNearBottom();
    fn();
    if (stick) scrollToBottom();
  }

  function senderOf(message) {
    return ["customer", "bot", "agent", "system"].includes(message.sender) ? message.sender : "system";
  }

  function messageElement(message) {
    const sender = senderOf(message);
    const who = sender === "agent" ? message.agent_name || SENDER_LABELS.agent : SENDER_LABELS[sender];
    const el = h("article", { class: `cm cm--${sender}`, "data-testid": "agent-message", "data-sender": sender }, [
      h("header", { class: "cm__meta" }, [
        h("span", { class: "cm__who", text: who }),
        message.created_at ? h("time", { datetime: message.created_at, text: formatTime(message.created_at) }) : null,
      ]),
      h("div", { class: "cm__text", text: String(message.text ?? "") }),
    ]);
    if (message.id) el.dataset.messageId = String(message.id);
    if (message.client_message_id) el.dataset.clientId = message.client_message_id;
    if (Array.isArray(message.sources) && message.sources.length) el.append(sourcesList(message.sources, "cm__sources"));
    return el;
  }

  function sourcesList(sources, className) {
    return h(
      "ul",
      { class: className },
      sources.map((source) => {
        const title = String(source.title || source.url || "");
        const href = safeUrl(source.url);
        return h("li", {}, [href ? h("a", { href, target: "_blank", rel: "noopener", text: title }) : title]);
      }),
    );
  }

  // Stored messages in id order; pending replies and streaming bot replies stay last.
  function place(el) {
    const id = Number(el.dataset.messageId);
    for (const child of ui.messages.children) {
      if (child === el) continue;
      const childId = Number(child.dataset.messageId || 0);
      if ((childId && childId > id) || child.dataset.state === "pending" || child.dataset.streamId) {
        ui.messages.insertBefore(el, child);
        return;
      }
    }
    ui.messages.append(el);
  }

  function appendMessage(message) {
    const open = state.open;
    if (!message || !open) return;
    const id = Number(message.id) || null;
    const clientId = message.client_message_id || null;
    if (clientId && state.pending.has(clientId)) state.pending.delete(clientId);
    if (id && open.byId.has(id)) return;
    const empty = ui.messages.querySelector(".thread__empty");
    if (empty) empty.remove();
    const pending = clientId ? open.byClientId.get(clientId) : null;
    const el = messageElement(message);
    if (pending && id) pending.remove(); // the stored message replaces the pending copy
    if (id) open.byId.set(id, el);
    if (clientId) open.byClientId.set(clientId, el);
    place(el);
  }

  function appendPending(clientId, entry) {
    const el = messageElement({ sender: "agent", text: entry.text, agent_name: ME, client_message_id: clientId });
    setMessageState(el, "pending", "Sending…");
    state.open.byClientId.set(clientId, el);
    const empty = ui.messages.querySelector(".thread__empty");
    if (empty) empty.remove();
    withScroll(() => ui.messages.append(el), true);
  }

  function setMessageState(el, value, label) {
    el.dataset.state = value;
    let line = el.querySelector(".cm__state");
    if (!label) {
      if (line) line.remove();
      return;
    }
    if (!line) {
      line = h("div", { class: "cm__state" });
      el.append(line);
    }
    line.textContent = label;
  }

  function attachNote(note) {
    const open = state.open;
    if (!note || !open) return;
    const target = open.byId.get(Number(note.reply_message_id)) || open.byId.get(Number(note.message_id));
    if (!target) return;
    const rows = [];
    const add = (label, value) => {
      if (value == null || value === "") return;
      rows.push(h("dt", { text: label }), h("dd", { text: String(value) }));
    };
    add("Intent", note.intent);
    add("Route", note.route);
    add("Reason", note.reason);
    if (typeof note.latency_ms === "number") add("Latency", `${Math.round(note.latency_ms)} ms`);
    const block = h("div", { class: "notes", "data-testid": "agent-notes", "aria-label": "Bot notes" }, [
      h("p", { class: "notes__title", text: "Bot notes" }),
      h("dl", { class: "notes__list" }, rows),
    ]);
    if (Array.isArray(note.sources) && note.sources.length) {
      block.append(h("p", { class: "notes__label", text: "Sources" }), sourcesList(note.sources, "notes__sources"));
    }
    const existing = target.querySelector(".notes");
    if (existing) existing.replaceWith(block);
    else target.append(block);
  }

  function onDelta(event) {
    const open = state.open;
    if (!open || !event.stream_id) return;
    let el = open.streams.get(event.stream_id);
    if (!el) {
      el = messageElement({ sender: "bot", text: "" });
      el.dataset.streamId = String(event.stream_id);
      el.classList.add("is-streaming");
      open.streams.set(event.stream_id, el);
      withScroll(() => ui.messages.append(el));
    }
    withScroll(() => {
      el.querySelector(".cm__text").textContent += String(event.delta ?? "");
    });
  }

  function onDone(event) {
    const open = state.open;
    if (!open) return;
    const el = open.streams.get(event.stream_id);
    open.streams.delete(event.stream_id);
    if (el) el.remove();
    withScroll(() => appendMessage(event.message));
    scheduleNotesRefresh();
  }

  // The bot's notes for a new turn arrive only with `conversation`: ask for it again shortly.
  function scheduleNotesRefresh() {
    clearTimeout(state.notesRefreshTimer);
    const id = state.openId;
    state.notesRefreshTimer = setTimeout(() => {
      if (state.openId === id) send({ type: "conversation.open", conversation_id: id });
    }, NOTES_REFRESH_DELAY_MS);
  }

  function onMessageEvent(event) {
    const id = event.conversation_id;
    const message = event.message;
    const summary = state.queue.get(id);
    if (summary && message && event.type !== "message.delta") {
      summary.last_message = message.text;
      summary.last_message_at = message.created_at || summary.last_message_at;
    }
    if (id !== state.openId) {
      if (event.type !== "message.delta" && state.queue.has(id)) state.unread.add(id);
      renderQueue();
      return;
    }
    if (event.type === "message.new") {
      withScroll(() => appendMessage(message));
      if (message && message.sender === "customer") hideCustomerTyping();
    } else if (event.type === "message.delta") {
      onDelta(event);
    } else {
      onDone(event);
    }
    renderQueue();
  }

  let customerTypingTimer = null;
  function onTyping(event) {
    if (event.conversation_id !== state.openId) return;
    if (!event.active) {
      hideCustomerTyping();
      return;
    }
    ui.typing.hidden = false;
    clearTimeout(customerTypingTimer);
    customerTypingTimer = setTimeout(hideCustomerTyping, CUSTOMER_TYPING_SHOWN_MAX_MS);
  }

  function hideCustomerTyping() {
    clearTimeout(customerTypingTimer);
    ui.typing.hidden = true;
  }

  // ---------------------------------------------------------------- actions

  function send(event) {
    const ws = state.ws;
    if (!state.connected || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify({ v: 1, ...event }));
    return true;
  }

  function act(type) {
    if (state.openId == null) return;
    if (!send({ type, conversation_id: state.openId })) showAlert("Not connected. Trying again…");
  }

  ui.claim.addEventListener("click", () => act("conversation.claim"));
  ui.release.addEventListener("click", () => act("conversation.release"));
  ui.close.addEventListener("click", () => act("conversation.close"));

  function sendPending(clientId) {
    const entry = state.pending.get(clientId);
    if (entry) {
      send({ type: "message.send", conversation_id: entry.conversation_id, client_message_id: clientId, text: entry.text });
    }
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.input.value.trim();
    if (!text || ui.input.disabled || !state.open) return;
    const clientId = newClientMessageId();
    const entry = { conversation_id: state.openId, text };
    state.pending.set(clientId, entry);
    appendPending(clientId, entry);
    sendPending(clientId);
    ui.input.value = "";
    stopTyping();
    ui.input.focus();
  });

  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      ui.form.requestSubmit();
    }
  });

  ui.input.addEventListener("input", () => {
    const now = Date.now();
    if (ui.input.value && state.openId != null && now - state.typingSentAt > TYPING_IDLE_MS) {
      if (send({ type: "typing", conversation_id: state.openId, active: true })) state.typingSentAt = now;
    }
    clearTimeout(state.typingStopTimer);
    state.typingStopTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  function stopTyping() {
    clearTimeout(state.typingStopTimer);
    if (state.typingSentAt && state.openId != null) {
      send({ type: "typing", conversation_id: state.openId, active: false });
    }
    state.typingSentAt = 0;
  }

  function onServerError(event) {
    const clientId = event.ref && state.pending.has(event.ref) ? event.ref : null;
    if (clientId && event.code === "rate_limited") {
      setTimeout(() => sendPending(clientId), RATE_LIMIT_RETRY_MS * (0.75 + Math.random() * 0.5));
    } else if (clientId) {
      state.pending.delete(clientId);
      const el = state.open && state.open.byClientId.get(clientId);
      if (el) setMessageState(el, "failed", "Not sent");
    }
    showAlert(typeof event.message === "string" && event.message ? event.message : "Something went wrong.");
  }

  // ---------------------------------------------------------------- socket

  function onServerEvent(raw) {
    let event;
    try {
      event = JSON.parse(raw);
    } catch {
      return;
    }
    if (!event || typeof event !== "object") return;
    switch (event.type) {
      case "queue":
        state.attempts = 0; // the server answered: the next drop starts the backoff afresh
        onQueue(event.conversations);
        break;
      case "conversation":
        onConversation(event);
        break;
      case "conversation.updated":
        onConversationUpdated(event.conversation);
        break;
      case "message.new":
      case "message.delta":
      case "message.done":
        onMessageEvent(event);
        break;
      case "typing":
        onTyping(event);
        break;
      case "error":
        onServerError(event);
        break;
      default:
        break;
    }
  }

  function connect() {
    if (state.stopped) return;
    let ws;
    try {
      ws = new WebSocket(WS_URL);
    } catch {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    ws.addEventListener("open", () => {
      if (state.ws !== ws) return;
      state.connected = true;
      state.everConnected = true;
      setConnection("connected", "Connected");
      send({ type: "queue" });
      if (state.openId != null) send({ type: "conversation.open", conversation_id: state.openId });
      for (const clientId of state.pending.keys()) sendPending(clientId);
    });
    ws.addEventListener("message", (event) => {
      if (state.ws === ws && typeof event.data === "string") onServerEvent(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.connected = false;
      state.typingSentAt = 0;
      hideCustomerTyping();
      if (state.open) {
        for (const el of state.open.streams.values()) el.remove();
        state.open.streams.clear();
      }
      if (event.code === 4401) stop("Your session has ended. Sign in again and reload this page.");
      else if (event.code === 4403) stop("You are not an agent in this workspace.");
      else scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (state.stopped) return;
    clearTimeout(state.reconnectTimer);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** state.attempts);
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    state.attempts += 1;
    setConnection("reconnecting", state.everConnected ? "Reconnecting…" : "Connecting…");
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function stop(message) {
    state.stopped = true;
    clearTimeout(state.reconnectTimer);
    setConnection("offline", "Offline");
    clearTimeout(alertTimer); // this alert stays: nothing here recovers without a reload
    ui.alert.textContent = message;
    for (const button of [ui.claim, ui.release, ui.close, ui.send]) button.disabled = true;
    ui.input.disabled = true;
  }

  window.addEventListener("online", () => {
    if (!state.connected && !state.stopped && state.reconnectTimer) {
      clearTimeout(state.reconnectTimer);
      connect();
    }
  });
  setInterval(refreshAges, AGE_REFRESH_MS);
  renderQueue();
  connect();
})();

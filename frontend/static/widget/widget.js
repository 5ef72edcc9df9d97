/*
 * Customer chat widget. A company embeds it with one tag:
 *
 *   <script src="https://SERVER/static/widget/widget.js" data-workspace="PUBLIC_KEY" async></script>
 *
 * Optional attributes: data-lang="en"|"zh", data-title. Everything renders inside an open shadow
 * root, so the host page's CSS and ours never meet. Wire protocol: apps/chat/PROTOCOL.md.
 * Messages are untrusted: text always goes through textContent, never innerHTML.
 */
(() => {
  "use strict";

  const script =
    document.currentScript || document.querySelector('script[data-workspace][src*="widget.js"]');
  if (!script || !script.dataset.workspace || window.csWidget) return;

  const PUBLIC_KEY = script.dataset.workspace;
  const SERVER = new URL(script.src, location.href).origin;
  const WS_SERVER = SERVER.replace(/^http/, "ws");
  const STORAGE_PREFIX = `cs-widget:${PUBLIC_KEY}:`;
  const BACKOFF_START_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const RATE_LIMIT_RETRY_MS = 4000;
  // With no answer this long after the server stored a message, ask for what we missed (a live
  // event can be lost with a broker connection; the reply is stored all the same).
  const REPLY_WATCH_MS = 20000;
  const REPLY_WATCH_TRIES = 3;
  const TYPING_IDLE_MS = 3000;
  const TYPING_SHOWN_MAX_MS = 20000;
  const ALERT_SHOWN_MS = 8000;

  const STRINGS = {
    en: {
      title: "Chat with us",
      subtitle: "We usually reply within a few minutes",
      greeting: "Hi! How can we help you today?",
      openChat: "Open chat",
      openChatUnread: "Open chat ({n} new)",
      closeChat: "Close chat",
      conversation: "Conversation",
      message: "Message",
      placeholder: "Type a message…",
      send: "Send",
      handoff: "Talk to a person",
      handoffWaiting: "Waiting for a person…",
      handoffWithAgent: "You're chatting with a person",
      handoffRequested: "We're connecting you with a person. Please stay on this page.",
      agentJoined: "{name} joined the chat",
      handoffReleased: "You're chatting with our assistant again.",
      conversationClosed: "This conversation has ended.",
      agent: "Agent",
      assistant: "Assistant",
      typing: "{name} is typing",
      connecting: "Connecting…",
      reconnecting: "Reconnecting…",
      sending: "Sending…",
      failed: "Not sent",
      willRetry: "Not sent yet, retrying…",
      sources: "Sources",
      helpful: "Was this helpful?",
      thumbUp: "Helpful",
      thumbDown: "Not helpful",
      reasonLabel: "What went wrong? (optional)",
      reasonSubmit: "Submit",
      feedbackThanks: "Thanks for your feedback",
      csatTitle: "How did we do?",
      csatComment: "Anything you'd like to add? (optional)",
      csatHint: "Choose a rating to send",
      csatRate: "Rate {n} of 5",
      unavailable: "Chat is unavailable right now.",
      originBlocked: "Chat isn't available on this site.",
      errorGeneric: "Something went wrong. Please try again.",
    },
    zh: {
      title: "在线客服",
      subtitle: "我们通常会在几分钟内回复",
      greeting: "您好！请问有什么可以帮您？",
      openChat: "打开在线客服",
      openChatUnread: "打开在线客服（{n} 条新消息）",
      closeChat: "关闭在线客服",
      conversation: "对话",
      message: "消息",
      placeholder: "输入消息…",
      send: "发送",
      handoff: "转人工",
      handoffWaiting: "正在等待人工客服…",
      handoffWithAgent: "人工客服为您服务中",
      handoffRequested: "正在为您转接人工客服，请不要离开本页面。",
      agentJoined: "{name} 已加入对话",
      handoffReleased: "您已回到智能助手对话。",
      conversationClosed: "本次对话已结束。",
      agent: "客服",
      assistant: "智能助手",
      typing: "{name} 正在输入",
      connecting: "正在连接…",
      reconnecting: "正在重新连接…",
      sending: "发送中…",
      failed: "发送失败",
      willRetry: "暂未发送，正在重试…",
      sources: "参考来源",
      helpful: "这个回答有帮助吗？",
      thumbUp: "有帮助",
      thumbDown: "没有帮助",
      reasonLabel: "哪里不满意？（可选）",
      reasonSubmit: "提交",
      feedbackThanks: "感谢您的反馈",
      csatTitle: "请为本次服务评分",
      csatComment: "还有什么想告诉我们的吗？（可选）",
      csatHint: "点击评分即可提交",
      csatRate: "评分 {n} 分（满分 5 分）",
      unavailable: "在线客服暂时不可用。",
      originBlocked: "此网站无法使用在线客服。",
      errorGeneric: "出了点问题，请重试。",
    },
  };

  const LANG = pickLanguage(script.dataset.lang);
  const t = (key, vars = {}) =>
    (STRINGS[LANG][key] || STRINGS.en[key] || key).replace(/\{(\w+)\}/g, (_, name) =>
      String(vars[name] ?? ""),
    );
  const TITLE = script.dataset.title || t("title");

  function pickLanguage(requested) {
    const lang = (requested || navigator.language || "en").toLowerCase();
    return lang.startsWith("zh") ? "zh" : "en";
  }

  // ---------------------------------------------------------------- storage

  const storage = {
    get(key) {
      try {
        return localStorage.getItem(STORAGE_PREFIX + key);
      } catch {
        return null; // storage blocked (private mode, sandboxed frame)
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(STORAGE_PREFIX + key, value);
      } catch {
        /* the widget still works for this page view */
      }
    },
    remove(key) {
      try {
        localStorage.removeItem(STORAGE_PREFIX + key);
      } catch {
        /* as above */
      }
    },
  };

  function loadOutbox() {
    try {
      const entries = JSON.parse(storage.get("outbox") || "[]");
      return Array.isArray(entries)
        ? entries.filter(
            (e) => e && typeof e.client_message_id === "string" && typeof e.text === "string",
          )
        : [];
    } catch {
      return [];
    }
  }

  function saveOutbox() {
    const entries = state.outbox.map(({ client_message_id, text }) => ({ client_message_id, text }));
    if (entries.length) storage.set("outbox", JSON.stringify(entries));
    else storage.remove("outbox");
  }

  function newClientMessageId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return `c-${crypto.randomUUID()}`;
    const bytes = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `c-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // ---------------------------------------------------------------- state

  const state = {
    token: null,
    ws: null,
    connected: false,
    everConnected: false,
    stopped: false,
    attempts: 0,
    reconnectTimer: null,
    reconnectFn: null,
    lastMessageId: 0,
    outbox: loadOutbox(),
    retryTimers: new Map(), // client_message_id -> timer, for rate-limited messages
    replyWatch: { timer: 0, tries: 0 }, // a sync when a stored message gets no answer
    conversation: null,
    historySeen: false,
    open: false,
    unread: 0,
    typingSentAt: 0,
    typingStopTimer: null,
    stickToBottom: true,
    agentName: null,
  };

  window.csWidget = Object.freeze({
    state: () => ({
      connected: state.connected,
      lastMessageId: state.lastMessageId,
      outbox: state.outbox.map((e) => ({ ...e })),
    }),
    socket: () => state.ws,
    open: () => setOpen(true),
    close: () => setOpen(false),
  });

  // ---------------------------------------------------------------- DOM helpers

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

  const ICONS = {
    chat: "M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z",
    close: "M18 6 6 18M6 6l12 12",
    person: "M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2M16 7a4 4 0 1 1-8 0 4 4 0 0 1 8 0z",
    up: "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3",
    down: "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17",
    star: "M12 2l3.09 6.26L22 9.27l-5 4.87 1.18 6.88L12 17.77l-6.18 3.25L7 14.14 2 9.27l6.91-1.01L12 2z",
  };

  function icon(name) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  function safeUrl(value) {
    try {
      const url = new URL(String(value), SERVER);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? null : date.toLocaleString(LANG === "zh" ? "zh-CN" : undefined);
  }

  // ---------------------------------------------------------------- styles

  const CSS = `
:host { all: initial; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  --accent: #2b6cb0; --accent-dark: #1f5592; --accent-soft: #e6effa;
  --ink: #1f2933; --muted: #637083; --line: #e2e8f0; --canvas: #f6f8fb;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", sans-serif;
  color: var(--ink); -webkit-font-smoothing: antialiased; text-align: left;
}
button, textarea, input { font: inherit; color: inherit; }
button { cursor: pointer; }
button:disabled { cursor: default; }
button:focus-visible, a:focus-visible, .messages:focus-visible {
  outline: 2px solid var(--accent-dark); outline-offset: 2px;
}
.visually-hidden {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}

.bubble {
  position: fixed; right: 24px; bottom: 24px; z-index: 2147483000;
  width: 58px; height: 58px; border: 0; border-radius: 50%;
  background: var(--accent); color: #fff; display: grid; place-items: center;
  box-shadow: 0 8px 24px rgba(20, 50, 95, .28), 0 2px 6px rgba(20, 50, 95, .16);
  transition: transform .15s ease, background-color .15s ease;
}
.bubble:hover { background: var(--accent-dark); transform: translateY(-1px); }
.bubble:focus-visible { outline: 3px solid var(--accent-dark); outline-offset: 3px; }
.bubble svg { width: 26px; height: 26px; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; stroke-linejoin: round; }
.badge {
  position: absolute; top: -3px; right: -3px; min-width: 20px; height: 20px; padding: 0 5px;
  border-radius: 10px; border: 2px solid #fff; background: #d64545; color: #fff;
  font-size: 11px; font-weight: 700; line-height: 16px; text-align: center;
}

.panel {
  position: fixed; right: 24px; bottom: 96px; z-index: 2147483000;
  width: 380px; height: min(640px, calc(100vh - 120px)); min-height: 320px;
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 16px;
  box-shadow: 0 16px 48px rgba(15, 35, 70, .22), 0 2px 8px rgba(15, 35, 70, .08);
  animation: cs-in .18s ease-out;
}
@keyframes cs-in { from { opacity: 0; transform: translateY(8px) scale(.985); } }

.header {
  display: flex; align-items: center; gap: 12px; padding: 14px 12px 14px 18px;
  background: var(--accent); color: #fff;
}
.header h2 { margin: 0; font-size: 16px; font-weight: 600; line-height: 1.3; }
.header p { margin: 2px 0 0; font-size: 12px; opacity: .85; }
.icon-btn {
  margin-left: auto; flex: none; width: 34px; height: 34px; border: 0; border-radius: 8px;
  background: transparent; color: inherit; display: grid; place-items: center;
}
.icon-btn:hover { background: rgba(255, 255, 255, .16); }
.icon-btn:focus-visible { outline-color: #fff; }
.icon-btn svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; }

.status {
  padding: 6px 18px; font-size: 12px; background: #fff6dd; color: #6f5300;
  border-bottom: 1px solid #f0e2b6;
}
.status:empty { display: none; }

.messages {
  flex: 1; overflow-y: auto; overscroll-behavior: contain; padding: 16px 14px 8px;
  display: flex; flex-direction: column; gap: 10px; background: var(--canvas);
}
.msg { display: flex; flex-direction: column; align-items: flex-start; align-self: flex-start;
  max-width: 86%; }
.msg--customer { align-self: flex-end; align-items: flex-end; }
.msg__name { margin: 0 0 3px 4px; font-size: 12px; font-weight: 600; color: #17694a; }
.msg__bubble {
  padding: 9px 13px; border-radius: 16px; white-space: pre-wrap;
  overflow-wrap: anywhere; word-break: break-word;
}
.msg--customer .msg__bubble { background: var(--accent); color: #fff; border-bottom-right-radius: 5px; }
.msg--bot .msg__bubble {
  background: #fff; border: 1px solid var(--line); border-bottom-left-radius: 5px;
}
.msg--agent .msg__bubble {
  background: #e8f6ef; border: 1px solid #c3e6d4; color: #123d2c; border-bottom-left-radius: 5px;
}
.msg--system { align-self: center; align-items: center; max-width: 92%; }
.msg--system .msg__bubble {
  padding: 3px 10px; font-size: 12.5px; color: var(--muted); text-align: center;
}
.msg[data-state="pending"] .msg__bubble { opacity: .72; }
.msg[data-state="failed"] .msg__bubble {
  background: #fdeeee; color: #8a1f1f; border: 1px solid #f2c4c4;
}
.msg__state { margin-top: 3px; font-size: 11.5px; color: var(--muted); }
.msg[data-state="failed"] .msg__state { color: #b42318; }
.msg[data-streaming] .msg__bubble::after {
  content: ""; display: inline-block; width: 7px; height: 14px; margin-left: 2px;
  vertical-align: -2px; background: var(--accent); opacity: .5; animation: cs-blink 1s infinite;
}

.sources { margin: 6px 0 0 4px; padding: 0; list-style: none; font-size: 12.5px; }
.sources__label { font-size: 11px; letter-spacing: .04em; text-transform: uppercase; color: var(--muted); }
.sources li { margin-top: 2px; }
.sources a { color: var(--accent-dark); text-decoration: underline; text-underline-offset: 2px; }

.feedback { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; margin: 4px 0 0 4px;
  font-size: 12px; color: var(--muted); }
.feedback__label { margin-right: 4px; }
.thumb {
  width: 30px; height: 30px; border: 1px solid transparent; border-radius: 8px;
  background: transparent; color: var(--muted); display: grid; place-items: center;
}
.thumb:hover { background: var(--accent-soft); color: var(--accent-dark); }
.thumb[aria-pressed="true"] { background: var(--accent-soft); border-color: #b9cff0; color: var(--accent-dark); }
.thumb svg { width: 15px; height: 15px; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; stroke-linejoin: round; }
.thumb[aria-pressed="true"] svg { fill: #cfe0f7; }
.feedback__thanks { margin-left: 4px; color: #17694a; }
.reason { display: flex; flex-wrap: wrap; gap: 6px; width: 100%; margin-top: 6px; }
.reason label { width: 100%; font-size: 12px; color: var(--muted); }
.reason input {
  flex: 1; min-width: 0; padding: 6px 10px; border: 1px solid #cfd8e3; border-radius: 8px;
  background: #fff; font-size: 13px;
}
.reason input:focus, .csat textarea:focus, .composer textarea:focus {
  outline: none; border-color: var(--accent); box-shadow: 0 0 0 3px rgba(43, 108, 176, .2);
}

.small-btn {
  padding: 6px 12px; border: 0; border-radius: 8px; background: var(--accent); color: #fff;
  font-size: 13px; font-weight: 600;
}
.small-btn:hover { background: var(--accent-dark); }

.note {
  align-self: center; max-width: 92%; padding: 5px 12px; border-radius: 999px;
  background: #e9eef5; color: #3e4c5c; font-size: 12.5px; text-align: center;
}
.greeting {
  align-self: flex-start; max-width: 86%; padding: 9px 13px; border-radius: 16px;
  border-bottom-left-radius: 5px; background: #fff; border: 1px solid var(--line);
}

.csat {
  align-self: stretch; padding: 14px; border: 1px solid var(--line); border-radius: 12px;
  background: #fff; text-align: center;
}
.csat__title { margin: 0 0 8px; font-weight: 600; }
.csat textarea {
  width: 100%; min-height: 52px; padding: 7px 10px; border: 1px solid #cfd8e3;
  border-radius: 8px; resize: vertical; font-size: 13px;
}
.csat__hint { margin: 6px 0 4px; font-size: 12px; color: var(--muted); }
.stars { display: flex; justify-content: center; gap: 4px; }
.star {
  width: 42px; height: 48px; border: 0; border-radius: 8px; background: transparent;
  color: #c3ccd8; display: flex; flex-direction: column; align-items: center; justify-content: center;
  gap: 1px; font-size: 11px; font-weight: 600;
}
.star svg { width: 26px; height: 26px; fill: currentColor; }
.star span { color: var(--muted); }
.star.is-lit { color: #f0a30a; }
.csat__thanks { margin: 0; color: #17694a; font-weight: 600; }

.typing { padding: 0 14px 8px; background: var(--canvas); }
.typing__dots {
  display: inline-flex; gap: 4px; padding: 11px 13px; border-radius: 16px;
  border-bottom-left-radius: 5px; background: #fff; border: 1px solid var(--line);
}
.typing__dots span { width: 6px; height: 6px; border-radius: 50%; background: #8a97a8;
  animation: cs-dot 1.2s infinite ease-in-out; }
.typing__dots span:nth-child(2) { animation-delay: .15s; }
.typing__dots span:nth-child(3) { animation-delay: .3s; }
@keyframes cs-dot { 0%, 80%, 100% { opacity: .3; transform: none; } 40% { opacity: 1; transform: translateY(-2px); } }
@keyframes cs-blink { 50% { opacity: 0; } }

.alert {
  margin: 0 12px 8px; padding: 8px 12px; border-radius: 8px;
  background: #fdeeee; color: #8a1f1f; font-size: 13px;
}
.alert:empty { display: none; }

.footer { padding: 10px 12px 12px; border-top: 1px solid var(--line); background: #fff; }
.handoff {
  display: inline-flex; align-items: center; gap: 6px; margin-bottom: 8px; padding: 5px 12px;
  border: 1px solid #c9d7ea; border-radius: 999px; background: #fff; color: var(--accent-dark);
  font-size: 12.5px;
}
.handoff:hover:not(:disabled) { background: var(--accent-soft); }
.handoff:disabled { border-color: var(--line); color: var(--muted); }
.handoff svg { width: 14px; height: 14px; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; stroke-linejoin: round; }
.composer { display: flex; align-items: flex-end; gap: 8px; }
.composer textarea {
  flex: 1; min-width: 0; height: 42px; min-height: 42px; max-height: 132px; padding: 10px 12px;
  border: 1px solid #cfd8e3; border-radius: 12px; background: #fff; resize: none; line-height: 1.4;
}
.composer textarea::placeholder { color: #8a96a6; }
.send {
  flex: none; height: 42px; padding: 0 16px; border: 0; border-radius: 12px;
  background: var(--accent); color: #fff; font-weight: 600;
}
.send:hover:not(:disabled) { background: var(--accent-dark); }
.send:disabled { background: #a8bcd6; }

@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; min-height: 0; border-radius: 0; }
  .root.is-open .bubble { display: none; }
}
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important; }
}
`;

  // ---------------------------------------------------------------- UI

  const ui = {};
  const byId = new Map(); // server message id -> element
  const byClientId = new Map(); // client_message_id -> element
  const streams = new Map(); // stream_id -> element

  function buildUi() {
    const host = h("div", { id: "cs-widget-host", "data-cs-widget": "" });
    host.setAttribute("style", "all: initial");
    const shadow = host.attachShadow({ mode: "open" });
    shadow.append(h("style", { text: CSS }));

    ui.badge = h("span", { class: "badge", "data-testid": "cs-unread", "aria-hidden": "true", hidden: true });
    ui.bubble = h(
      "button",
      {
        type: "button",
        class: "bubble",
        "data-testid": "cs-bubble",
        "aria-label": t("openChat"),
        "aria-expanded": "false",
        "aria-controls": "cs-panel",
        onclick: () => setOpen(!state.open),
      },
      [icon("chat"), ui.badge],
    );

    ui.status = h("div", { class: "status", "data-testid": "cs-status", role: "status" });
    ui.messages = h("div", {
      class: "messages",
      "data-testid": "cs-messages",
      role: "log",
      "aria-live": "polite",
      "aria-label": t("conversation"),
      tabindex: "0",
    });
    ui.messages.append(h("div", { class: "greeting", text: t("greeting") }));
    ui.typingLabel = h("span", { class: "visually-hidden" });
    ui.typingDots = h("span", { class: "typing__dots", role: "img", "aria-label": "" }, [
      h("span"),
      h("span"),
      h("span"),
    ]);
    ui.typing = h("div", { class: "typing", "data-testid": "cs-typing", hidden: true }, [ui.typingDots]);
    ui.alert = h("div", { class: "alert", "data-testid": "cs-error", role: "alert" });

    ui.handoff = h(
      "button",
      { type: "button", class: "handoff", "data-testid": "cs-handoff", onclick: requestHandoff },
      [icon("person"), h("span", { text: t("handoff") })],
    );
    ui.input = h("textarea", {
      "data-testid": "cs-input",
      rows: "1",
      placeholder: t("placeholder"),
      "aria-label": t("message"),
      maxlength: "4000",
      onkeydown: onInputKeydown,
      oninput: onInputChange,
    });
    ui.send = h("button", { type: "submit", class: "send", "data-testid": "cs-send", text: t("send") });
    const composer = h("form", { class: "composer", onsubmit: onSubmit }, [ui.input, ui.send]);

    ui.panel = h(
      "section",
      {
        id: "cs-panel",
        class: "panel",
        "data-testid": "cs-panel",
        role: "dialog",
        "aria-labelledby": "cs-title",
        hidden: true,
      },
      [
        h("header", { class: "header" }, [
          h("div", {}, [
            h("h2", { id: "cs-title", text: TITLE }),
            h("p", { text: t("subtitle") }),
          ]),
          h(
            "button",
            {
              type: "button",
              class: "icon-btn",
              "data-testid": "cs-close",
              "aria-label": t("closeChat"),
              onclick: () => setOpen(false, { restoreFocus: true }),
            },
            [icon("close")],
          ),
        ]),
        ui.status,
        ui.messages,
        ui.typing,
        ui.alert,
        h("div", { class: "footer" }, [ui.handoff, composer]),
      ],
    );

    ui.root = h("div", { class: "root", lang: LANG, onkeydown: onRootKeydown }, [ui.panel, ui.bubble]);
    shadow.append(ui.root);
    document.body.append(host);
  }

  function setOpen(open, { restoreFocus = false } = {}) {
    if (!ui.panel) return;
    state.open = open;
    ui.panel.hidden = !open;
    ui.root.classList.toggle("is-open", open);
    ui.bubble.setAttribute("aria-expanded", String(open));
    ui.bubble.setAttribute("aria-label", open ? t("closeChat") : t("openChat"));
    if (open) {
      state.unread = 0;
      renderUnread();
      scrollToBottom(true);
      ui.input.focus();
    } else if (restoreFocus) {
      ui.bubble.focus();
    }
  }

  function onRootKeydown(event) {
    if (event.key === "Escape" && state.open) {
      event.preventDefault();
      event.stopPropagation();
      setOpen(false, { restoreFocus: true });
    }
  }

  function renderUnread() {
    ui.badge.hidden = state.unread === 0;
    ui.badge.textContent = state.unread > 9 ? "9+" : String(state.unread);
    if (!state.open) {
      ui.bubble.setAttribute(
        "aria-label",
        state.unread ? t("openChatUnread", { n: state.unread }) : t("openChat"),
      );
    }
  }

  function noteUnread() {
    if (state.open) return;
    state.unread += 1;
    renderUnread();
  }

  function isNearBottom() {
    const m = ui.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToBottom(force) {
    if (force || state.stickToBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  // Keeps the list readable as it changes: follow new messages only if the reader was at the end.
  function mutateList(fn, { force = false } = {}) {
    state.stickToBottom = isNearBottom();
    fn();
    scrollToBottom(force);
  }

  function setStatus(key) {
    ui.status.textContent = key ? t(key) : "";
  }

  let alertTimer = null;
  function showAlert(text) {
    ui.alert.textContent = text;
    clearTimeout(alertTimer);
    alertTimer = setTimeout(() => {
      ui.alert.textContent = "";
    }, ALERT_SHOWN_MS);
  }

  // ---------------------------------------------------------------- messages

  // Stored messages sit in id order; pending customer messages and streaming replies stay last.
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

  function senderOf(message) {
    return ["customer", "bot", "agent", "system"].includes(message.sender) ? message.sender : "system";
  }

  function messageElement(message) {
    const sender = senderOf(message);
    const el = h("div", {
      class: `msg msg--${sender}`,
      "data-testid": "cs-message",
      "data-sender": sender,
    });
    if (sender === "agent") {
      el.append(h("div", { class: "msg__name", text: message.agent_name || t("agent") }));
    }
    el.append(
      h("div", {
        class: "msg__bubble",
        text: String(message.text ?? ""),
        title: message.created_at ? formatTime(message.created_at) : null,
      }),
    );
    if (message.id) el.dataset.messageId = String(message.id);
    if (message.client_message_id) el.dataset.clientId = message.client_message_id;
    if (sender === "bot" && message.id) {
      if (Array.isArray(message.sources) && message.sources.length) el.append(sourcesList(message.sources));
      el.append(feedbackControls(message.id));
    }
    return el;
  }

  function sourcesList(sources) {
    const label = h("li", { class: "sources__label", text: t("sources") });
    const items = sources.map((source) => {
      const title = String(source.title || source.url || "");
      const href = safeUrl(source.url);
      return h("li", {}, [href ? h("a", { href, target: "_blank", rel: "noopener", text: title }) : title]);
    });
    return h("ul", { class: "sources" }, [label, ...items]);
  }

  function feedbackControls(messageId) {
    const reasonId = `cs-reason-${messageId}`;
    const up = h(
      "button",
      {
        type: "button",
        class: "thumb",
        "data-testid": "cs-thumb-up",
        "aria-label": t("thumbUp"),
        "aria-pressed": "false",
        onclick: () => {
          reasonBox.hidden = true;
          down.setAttribute("aria-expanded", "false");
          sendFeedback(messageId, "up", "");
        },
      },
      [icon("up")],
    );
    const down = h(
      "button",
      {
        type: "button",
        class: "thumb",
        "data-testid": "cs-thumb-down",
        "aria-label": t("thumbDown"),
        "aria-pressed": "false",
        "aria-expanded": "false",
        "aria-controls": reasonId,
        onclick: () => {
          reasonBox.hidden = false;
          down.setAttribute("aria-expanded", "true");
          reason.focus();
        },
      },
      [icon("down")],
    );
    const reason = h("input", {
      type: "text",
      id: `${reasonId}-input`,
      "data-testid": "cs-feedback-reason",
      maxlength: "500",
      onkeydown: (event) => {
        if (event.key === "Enter" && !event.isComposing) {
          event.preventDefault();
          submit.click();
        }
      },
    });
    const submit = h("button", {
      type: "button",
      class: "small-btn",
      "data-testid": "cs-feedback-submit",
      text: t("reasonSubmit"),
      onclick: () => sendFeedback(messageId, "down", reason.value.trim()),
    });
    const reasonBox = h("div", { class: "reason", id: reasonId, hidden: true }, [
      h("label", { for: `${reasonId}-input`, text: t("reasonLabel") }),
      reason,
      submit,
    ]);
    const thanks = h("span", { class: "feedback__thanks", role: "status" });
    return h("div", { class: "feedback", role: "group", "aria-label": t("helpful") }, [
      h("span", { class: "feedback__label", text: t("helpful"), "aria-hidden": "true" }),
      up,
      down,
      thanks,
      reasonBox,
    ]);
  }

  function sendFeedback(messageId, rating, reason) {
    const event = { type: "feedback", message_id: messageId, rating };
    if (reason) event.reason = reason.slice(0, 500);
    if (!send(event)) showAlert(t("reconnecting"));
  }

  function onFeedbackSaved(event) {
    const el = byId.get(Number(event.message_id));
    if (!el) return;
    const feedback = el.querySelector(".feedback");
    if (!feedback) return;
    for (const [testid, rating] of [["cs-thumb-up", "up"], ["cs-thumb-down", "down"]]) {
      feedback
        .querySelector(`[data-testid="${testid}"]`)
        .setAttribute("aria-pressed", String(event.rating === rating));
    }
    feedback.querySelector(".reason").hidden = true;
    feedback.querySelector('[data-testid="cs-thumb-down"]').setAttribute("aria-expanded", "false");
    feedback.querySelector(".feedback__label").hidden = true;
    feedback.querySelector(".feedback__thanks").textContent = t("feedbackThanks");
  }

  function setMessageState(el, value, label) {
    el.dataset.state = value;
    let line = el.querySelector(".msg__state");
    if (!label) {
      if (line) line.remove();
      return;
    }
    if (!line) {
      line = h("div", { class: "msg__state" });
      el.append(line);
    }
    line.textContent = label;
  }

  function seen(id) {
    if (Number.isInteger(id) && id > state.lastMessageId) state.lastMessageId = id;
  }

  // One entry point for every stored message, whichever event carried it: never shows one twice.
  function receiveMessage(message, { live }) {
    if (!message || typeof message !== "object") return;
    const id = Number(message.id) || null;
    const clientId = message.client_message_id || null;
    seen(id);
    if (clientId) acknowledge(clientId);
    if (id && byId.has(id)) return;

    const pending = clientId ? byClientId.get(clientId) : null;
    mutateList(() => {
      if (pending && id) {
        pending.dataset.messageId = String(id);
        setMessageState(pending, "delivered", null);
        if (message.created_at) pending.querySelector(".msg__bubble").title = formatTime(message.created_at);
        byId.set(id, pending);
        place(pending);
        return;
      }
      const el = messageElement(message);
      if (id) byId.set(id, el);
      if (clientId) byClientId.set(clientId, el);
      place(el);
    });
    const sender = senderOf(message);
    if (sender === "agent" || sender === "bot") hideTyping();
    if (live && sender !== "customer") noteUnread();
    if (sender === "customer" && live) watchForReply();
    else if (sender !== "customer") stopReplyWatch();
  }

  function watchForReply() {
    clearTimeout(state.replyWatch.timer);
    if (state.conversation && state.conversation.status !== "bot") return; // a person answers
    state.replyWatch.timer = setTimeout(() => {
      if (state.replyWatch.tries >= REPLY_WATCH_TRIES) return;
      state.replyWatch.tries += 1;
      send({ type: "sync", after: state.lastMessageId });
      watchForReply();
    }, REPLY_WATCH_MS);
  }

  function stopReplyWatch() {
    clearTimeout(state.replyWatch.timer);
    state.replyWatch.tries = 0;
  }

  function acknowledge(clientId) {
    const index = state.outbox.findIndex((e) => e.client_message_id === clientId);
    if (index === -1) return;
    state.outbox.splice(index, 1);
    saveOutbox();
    clearTimeout(state.retryTimers.get(clientId));
    state.retryTimers.delete(clientId);
  }

  function renderPending(entry) {
    const el = messageElement({ sender: "customer", text: entry.text, client_message_id: entry.client_message_id });
    setMessageState(el, "pending", t("sending"));
    byClientId.set(entry.client_message_id, el);
    mutateList(() => ui.messages.append(el), { force: true });
  }

  function onDelta(event) {
    if (!event.stream_id) return;
    watchForReply(); // the answer is coming: wait for its end from now
    let el = streams.get(event.stream_id);
    if (!el) {
      el = messageElement({ sender: "bot", text: "" });
      el.dataset.streamId = String(event.stream_id);
      el.setAttribute("data-streaming", "");
      streams.set(event.stream_id, el);
      mutateList(() => ui.messages.append(el));
      showTyping("bot");
    }
    mutateList(() => {
      const bubble = el.querySelector(".msg__bubble");
      // A bot turn that failed halfway runs again under the same stream id: start over.
      if (event.restart) bubble.textContent = "";
      bubble.textContent += String(event.delta ?? "");
    });
  }

  function onDone(event) {
    const el = streams.get(event.stream_id);
    streams.delete(event.stream_id);
    const message = event.message;
    if (el) {
      const id = message && Number(message.id);
      if (id && !byId.has(id)) {
        const final = messageElement(message);
        byId.set(id, final);
        seen(id);
        mutateList(() => {
          el.replaceWith(final);
          place(final);
        });
        noteUnread();
      } else {
        el.remove();
      }
    } else {
      receiveMessage(message, { live: true });
    }
    hideTyping();
  }

  // A reply cut off by a dropped connection comes back whole with the next sync.
  function dropStreams() {
    for (const el of streams.values()) el.remove();
    streams.clear();
  }

  // The server announces handoffs and closing with a system message just before the event; the
  // local note only stands in when that message is not the latest thing shown.
  function addNote(text) {
    const last = ui.messages.lastElementChild;
    if (last && last.dataset.sender === "system" && last.dataset.messageId) return;
    mutateList(() => ui.messages.append(h("div", { class: "note", "data-testid": "cs-note", text })));
  }

  let typingTimer = null;
  function showTyping(sender, name) {
    const who = sender === "agent" ? name || state.agentName || t("agent") : t("assistant");
    const label = t("typing", { name: who });
    ui.typingDots.setAttribute("aria-label", label);
    ui.typing.title = label;
    const wasHidden = ui.typing.hidden;
    state.stickToBottom = isNearBottom();
    ui.typing.hidden = false;
    if (wasHidden) scrollToBottom(false);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MAX_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    ui.typing.hidden = true;
  }

  // ---------------------------------------------------------------- conversation status

  function setConversation(conversation, { live }) {
    const previous = state.conversation && state.conversation.status;
    state.conversation = conversation || null;
    const status = conversation ? conversation.status : null;
    const waiting = status === "waiting_for_agent";
    const withAgent = status === "with_agent";
    ui.handoff.disabled = waiting || withAgent;
    ui.handoff.querySelector("span").textContent = waiting
      ? t("handoffWaiting")
      : withAgent
        ? t("handoffWithAgent")
        : t("handoff");
    if (live && status === "closed" && previous !== "closed") showCsat();
  }

  function requestHandoff() {
    if (!send({ type: "handoff.request" })) showAlert(t("reconnecting"));
  }

  function showCsat() {
    if (ui.messages.querySelector('.csat:not([data-done])')) return;
    addNote(t("conversationClosed"));
    const comment = h("textarea", {
      "aria-label": t("csatComment"),
      placeholder: t("csatComment"),
      maxlength: "1000",
      rows: "2",
    });
    const stars = [];
    const light = (n) => stars.forEach((star, i) => star.classList.toggle("is-lit", i < n));
    for (let n = 1; n <= 5; n++) {
      stars.push(
        h(
          "button",
          {
            type: "button",
            class: "star",
            "data-testid": `cs-csat-score-${n}`,
            "aria-label": t("csatRate", { n }),
            onmouseenter: () => light(n),
            onfocus: () => light(n),
            onclick: () => {
              const event = { type: "csat", score: n };
              const text = comment.value.trim();
              if (text) event.comment = text;
              if (send(event)) {
                stars.forEach((star, i) => star.setAttribute("aria-pressed", String(i === n - 1)));
                card.dataset.score = String(n);
              } else {
                showAlert(t("reconnecting"));
              }
            },
          },
          [icon("star"), h("span", { text: String(n), "aria-hidden": "true" })],
        ),
      );
    }
    const row = h("div", { class: "stars", onmouseleave: () => light(Number(card.dataset.score || 0)) }, stars);
    // The optional comment comes first: choosing a rating sends both.
    const card = h("div", { class: "csat", "data-testid": "cs-csat", role: "group", "aria-labelledby": "cs-csat-title" }, [
      h("p", { class: "csat__title", id: "cs-csat-title", text: t("csatTitle") }),
      comment,
      h("p", { class: "csat__hint", text: t("csatHint") }),
      row,
    ]);
    mutateList(() => ui.messages.append(card), { force: true });
    if (!state.open) noteUnread();
  }

  function onCsatSaved() {
    const card = ui.messages.querySelector(".csat:not([data-done])");
    if (!card) return;
    card.dataset.done = "";
    card.replaceChildren(h("p", { class: "csat__thanks", role: "status", text: t("feedbackThanks") }));
  }

  // ---------------------------------------------------------------- sending

  function send(event) {
    const ws = state.ws;
    if (!state.connected || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify({ v: 1, ...event }));
    return true;
  }

  function sendOutboxEntry(entry) {
    send({ type: "message.send", client_message_id: entry.client_message_id, text: entry.text });
  }

  function flushOutbox() {
    for (const entry of state.outbox) sendOutboxEntry(entry);
  }

  function onSubmit(event) {
    event.preventDefault();
    const text = ui.input.value.trim();
    if (!text || state.stopped) return;
    const entry = { client_message_id: newClientMessageId(), text };
    state.outbox.push(entry);
    saveOutbox();
    renderPending(entry);
    sendOutboxEntry(entry);
    ui.input.value = "";
    resizeInput();
    stopTyping();
    ui.input.focus();
  }

  function onInputKeydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      ui.send.click();
    }
  }

  function onInputChange() {
    resizeInput();
    const now = Date.now();
    if (ui.input.value && now - state.typingSentAt > TYPING_IDLE_MS) {
      if (send({ type: "typing", active: true })) state.typingSentAt = now;
    }
    clearTimeout(state.typingStopTimer);
    state.typingStopTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(state.typingStopTimer);
    if (state.typingSentAt) {
      send({ type: "typing", active: false });
      state.typingSentAt = 0;
    }
  }

  function resizeInput() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 132)}px`;
  }

  // ---------------------------------------------------------------- server events

  function onServerEvent(raw) {
    let event;
    try {
      event = JSON.parse(raw);
    } catch {
      return;
    }
    if (!event || typeof event !== "object") return;
    switch (event.type) {
      case "history": {
        const live = state.historySeen;
        state.historySeen = true;
        state.attempts = 0; // the server answered: the next drop starts the backoff afresh
        setConversation(event.conversation, { live });
        for (const message of event.messages || []) receiveMessage(message, { live: false });
        break;
      }
      case "message.new":
        receiveMessage(event.message, { live: true });
        break;
      case "message.delta":
        onDelta(event);
        break;
      case "message.done":
        onDone(event);
        break;
      case "typing":
        if (event.active) showTyping(event.sender, event.agent_name);
        else hideTyping();
        break;
      case "handoff.requested":
        setConversation(event.conversation, { live: true });
        addNote(t("handoffRequested"));
        break;
      case "handoff.accepted":
        state.agentName = event.agent_name || null;
        setConversation(event.conversation, { live: true });
        addNote(t("agentJoined", { name: event.agent_name || t("agent") }));
        break;
      case "handoff.released":
        state.agentName = null;
        setConversation(event.conversation, { live: true });
        addNote(t("handoffReleased"));
        break;
      case "conversation.closed":
        hideTyping();
        setConversation(event.conversation || { status: "closed" }, { live: true });
        break;
      case "feedback.saved":
        onFeedbackSaved(event);
        break;
      case "csat.saved":
        onCsatSaved();
        break;
      case "error":
        onServerError(event);
        break;
      default:
        break; // pong and anything newer than this widget
    }
  }

  function onServerError(event) {
    const code = event.code;
    const entry = event.ref ? state.outbox.find((e) => e.client_message_id === event.ref) : null;
    if (entry && (code === "invalid" || code === "too_large")) {
      acknowledge(entry.client_message_id);
      const el = byClientId.get(entry.client_message_id);
      if (el) setMessageState(el, "failed", t("failed"));
    } else if (entry && (code === "rate_limited" || code === "server_error")) {
      // Not stored, or not known to be: sent again later (the server never stores it twice).
      const el = byClientId.get(entry.client_message_id);
      if (el) setMessageState(el, "pending", t("willRetry"));
      clearTimeout(state.retryTimers.get(entry.client_message_id));
      const delay = RATE_LIMIT_RETRY_MS * (0.75 + Math.random() * 0.5);
      state.retryTimers.set(
        entry.client_message_id,
        setTimeout(() => {
          state.retryTimers.delete(entry.client_message_id);
          if (state.outbox.includes(entry)) sendOutboxEntry(entry);
        }, delay),
      );
    }
    // A bad or expired token is followed by close 4401, which fetches a new one quietly.
    if (code === "invalid_token" || code === "token_expired" || code === "auth_timeout") return;
    showAlert(typeof event.message === "string" && event.message ? event.message : t("errorGeneric"));
  }

  // ---------------------------------------------------------------- connection

  async function requestSession(resume) {
    const previous = resume ? storage.get("token") : null;
    let response;
    let body = null;
    try {
      response = await fetch(`${SERVER}/api/v1/widget/${encodeURIComponent(PUBLIC_KEY)}/session/`, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(previous ? { resume_token: previous } : {}),
      });
      body = await response.json().catch(() => null);
    } catch {
      return { retry: true };
    }
    if (response.ok && body && typeof body.token === "string") {
      state.token = body.token;
      storage.set("token", body.token);
      return { ok: true };
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      return { retry: true };
    }
    if (previous && response.status === 400) {
      storage.remove("token");
      return requestSession(false);
    }
    const message = body && body.error && body.error.message;
    return { fatal: typeof message === "string" && message ? message : t("unavailable") };
  }

  async function establish(resume) {
    if (state.stopped) return;
    const result = await requestSession(resume);
    if (state.stopped) return;
    if (result.fatal) stop(result.fatal);
    else if (result.retry) scheduleReconnect(() => establish(resume));
    else openSocket();
  }

  function openSocket() {
    if (state.stopped) return;
    // The session token goes in the first event, never in the URL: servers log URLs.
    const url = `${WS_SERVER}/ws/widget/${encodeURIComponent(PUBLIC_KEY)}/`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      scheduleReconnect(openSocket);
      return;
    }
    state.ws = ws;
    ws.addEventListener("open", () => {
      if (state.ws !== ws) return;
      state.connected = true;
      state.everConnected = true;
      setStatus(null);
      send({ type: "auth", token: state.token });
      send({ type: "sync", after: state.lastMessageId });
      flushOutbox();
    });
    ws.addEventListener("message", (event) => {
      if (state.ws === ws && typeof event.data === "string") onServerEvent(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.connected = false;
      state.typingSentAt = 0;
      dropStreams();
      hideTyping();
      if (event.code === 4403) stop(t("originBlocked"));
      else if (event.code === 4401) scheduleReconnect(() => establish(false));
      else scheduleReconnect(openSocket);
    });
  }

  function scheduleReconnect(fn) {
    if (state.stopped) return;
    clearTimeout(state.reconnectTimer);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** state.attempts);
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    state.attempts += 1;
    state.reconnectFn = fn;
    // Before the first connection a failing server (or a site it refuses) looks like a network
    // error to the browser; after a few tries say so instead of "Connecting…" forever.
    setStatus(state.everConnected ? "reconnecting" : state.attempts > 3 ? "unavailable" : "connecting");
    state.reconnectTimer = setTimeout(() => {
      state.reconnectFn = null;
      fn();
    }, delay);
  }

  function reconnectNow() {
    const fn = state.reconnectFn;
    if (!fn) return;
    clearTimeout(state.reconnectTimer);
    state.reconnectFn = null;
    fn();
  }

  function stop(message) {
    state.stopped = true;
    clearTimeout(state.reconnectTimer);
    ui.status.textContent = message;
    ui.input.disabled = true;
    ui.send.disabled = true;
    ui.handoff.disabled = true;
    showAlert(message);
  }

  // ---------------------------------------------------------------- start

  function init() {
    buildUi();
    for (const entry of state.outbox) renderPending(entry);
    setStatus("connecting");
    window.addEventListener("online", reconnectNow);
    establish(true);
  }

  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init, { once: true });
})();

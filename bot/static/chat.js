/* Accord chat component: the conversation, answers with [n] links, compact source chips.
 * Shared by the full page (loaded as /static/chat.js) and the widget (bundled into /widget.js).
 * Every piece of text from the server or the user goes in with textContent, never as HTML. */
var AccordChat = (function () {
  "use strict";

  // Fallbacks only: the page's inline config and GET /api/config give the server's own limits.
  var DEFAULT_LIMITS = {question_chars: 1000, history_turns: 50, turn_chars: 4000, k: 5,
                        comment_chars: 1000, answer_chars: 4000, passage_ids: 20};
  var TIMEOUT_MS = 60000;
  // What survives a reload: the last turns, and at most this many characters of JSON.
  var KEEP_TURNS = 20;
  var KEEP_CHARS = 200000;
  var SVG_NS = "http://www.w3.org/2000/svg";
  // Icons (Material Icons, Apache 2.0), drawn as SVG so no emoji font is needed.
  var ICONS = {
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 " +
        "1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c" +
        ".09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6." +
          "31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0" +
          "-1.1-.9-2-2-2zm4 0v12h4V3h-4z",
    copy: "M16 1H4c-1.1 0-2 .9-2 2v14h2V3h12V1zm3 4H8c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h11c1.1 0 " +
          "2-.9 2-2V7c0-1.1-.9-2-2-2zm0 16H8V7h11v14z",
    add: "M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6v2z"
  };
  var MARKER = /\[(\d+)\]/g;

  var STRINGS = {
    "en": {
      you: "You said", bot: "Accord said", conversation: "Conversation", question: "Your question",
      placeholder: "Ask a question…", send: "Send", searching: "Searching the documents…",
      examples: "Example questions", notFound: "Not in the documents",
      hint: "Answers come only from the indexed documents. Try other words, or another question.",
      sources: "Sources", source: "Source", related: function (n) {
        return n === 1 ? "1 related passage" : n + " related passages"; },
      page: function (n) { return "p. " + n; }, open: "Open", openTitle: "Open the original (new tab)",
      alsoIn: "Same text also in: ", wasHelpful: "Was this helpful?",
      helpful: function (q) { return "Helpful: the answer to “" + q + "”"; },
      notHelpful: function (q) { return "Not helpful: the answer to “" + q + "”"; },
      sending: "Sending…", thanks: "Thanks for your feedback.",
      commentLabel: "Comment on this answer (optional)",
      commentPlaceholder: "What was wrong or missing? (optional)", sendComment: "Send comment",
      commentSent: "Thanks: your comment was sent.",
      copy: "Copy", copyLabel: function (q) { return "Copy the answer to “" + q + "” with its sources"; },
      copied: "Copied.", copyFailed: "Could not copy: select the text instead.",
      newChat: "New chat", errorLabel: "Could not get an answer", retry: "Try again",
      busy: "Wait for the answer to finish: your question is kept in the box.",
      offline: "Could not reach the server. Check your connection and try again.",
      timeout: "The server took too long to answer. Please try again.",
      unreadable: "The server sent a reply this page cannot read.",
      status: function (s) { return "The server answered with status " + s + "."; },
      notReady: "The bot is not ready yet: its documents are still being prepared. Try again in a few minutes.",
      blocked: "This site is not allowed to use this bot. The site's owner can allow it in the bot's settings.",
      privacy: "Questions are stored to improve the answers.",
      said: "Answer: "
    },
    "zh-Hant": {
      you: "你說", bot: "Accord 回答", conversation: "對話", question: "你的問題",
      placeholder: "輸入問題…", send: "傳送", searching: "正在搜尋文件…",
      examples: "問題範例", notFound: "文件中沒有答案",
      hint: "答案只來自已收錄的文件。請換個說法，或問另一個問題。",
      sources: "來源", source: "來源", related: function (n) { return n + " 段相關段落"; },
      page: function (n) { return "第 " + n + " 頁"; }, open: "開啟", openTitle: "開啟原文（新分頁）",
      alsoIn: "相同內容亦見於：", wasHelpful: "這個答案有幫助嗎？",
      helpful: function (q) { return "有幫助：「" + q + "」的答案"; },
      notHelpful: function (q) { return "沒有幫助：「" + q + "」的答案"; },
      sending: "傳送中…", thanks: "謝謝你的意見。",
      commentLabel: "對這個答案的意見（可選）", commentPlaceholder: "哪裏錯了或缺少甚麼？（可選）",
      sendComment: "傳送意見", commentSent: "謝謝，你的意見已送出。",
      copy: "複製", copyLabel: function (q) { return "複製「" + q + "」的答案及來源"; },
      copied: "已複製。", copyFailed: "無法複製，請自行選取文字。",
      newChat: "新對話", errorLabel: "未能取得答案", retry: "再試一次",
      busy: "請等候答案完成，你的問題仍保留在輸入框。",
      offline: "無法連接伺服器，請檢查網絡後再試。",
      timeout: "伺服器回應太慢，請再試一次。",
      unreadable: "伺服器的回覆無法讀取。",
      status: function (s) { return "伺服器回應狀態 " + s + "。"; },
      notReady: "機械人尚未準備好：文件仍在準備中，請稍後再試。",
      blocked: "這個網站未獲准使用此機械人。網站擁有者可在機械人的設定中允許。",
      privacy: "問題會被保存，以改善答案。",
      said: "答案："
    },
    "zh-Hans": {
      you: "你说", bot: "Accord 回答", conversation: "对话", question: "你的问题",
      placeholder: "输入问题…", send: "发送", searching: "正在搜索文件…",
      examples: "问题示例", notFound: "文件中没有答案",
      hint: "答案只来自已收录的文件。请换个说法，或问另一个问题。",
      sources: "来源", source: "来源", related: function (n) { return n + " 段相关段落"; },
      page: function (n) { return "第 " + n + " 页"; }, open: "打开", openTitle: "打开原文（新标签页）",
      alsoIn: "相同内容亦见于：", wasHelpful: "这个答案有帮助吗？",
      helpful: function (q) { return "有帮助：“" + q + "”的答案"; },
      notHelpful: function (q) { return "没有帮助：“" + q + "”的答案"; },
      sending: "发送中…", thanks: "谢谢你的反馈。",
      commentLabel: "对这个答案的意见（可选）", commentPlaceholder: "哪里错了或缺少什么？（可选）",
      sendComment: "发送意见", commentSent: "谢谢，你的意见已发送。",
      copy: "复制", copyLabel: function (q) { return "复制“" + q + "”的答案及来源"; },
      copied: "已复制。", copyFailed: "无法复制，请自行选取文字。",
      newChat: "新对话", errorLabel: "未能获得答案", retry: "再试一次",
      busy: "请等待答案完成，你的问题仍保留在输入框。",
      offline: "无法连接服务器，请检查网络后再试。",
      timeout: "服务器响应太慢，请再试一次。",
      unreadable: "服务器的回复无法读取。",
      status: function (s) { return "服务器响应状态 " + s + "。"; },
      notReady: "机器人尚未准备好：文件仍在准备中，请稍后再试。",
      blocked: "这个网站未获准使用此机器人。网站所有者可在机器人的设置中允许。",
      privacy: "问题会被保存，以改进答案。",
      said: "答案："
    }
  };
  // Characters that exist in only one of the two scripts: enough to tell a question's script.
  var HANS_ONLY = "这们说国会经发来时为与业门见关区贸务长东马车书对应进个过还没开问题么样请让谁边";
  var HANT_ONLY = "這們說國會經發來時為與業門見關區貿務長東馬車書對應進個過還沒開問題麼樣請讓誰邊";
  var HAN = /[\u3400-\u9fff\uf900-\ufaff]/;

  var instances = 0;

  /* "en", "zh-Hant" or "zh-Hans" for a language tag such as zh-HK, zh-CN, zh-TW or en-GB. */
  function pickLanguage(tags) {
    var list = (Array.isArray(tags) ? tags : [tags]).filter(function (t) { return t; });
    for (var i = 0; i < list.length; i++) {
      var tag = String(list[i]).toLowerCase();
      if (/^zh(-|$)/.test(tag)) {
        return /hant|-(tw|hk|mo)\b/.test(tag) ? "zh-Hant" : "zh-Hans";
      }
      if (/^en(-|$)/.test(tag)) return "en";
    }
    return "en";
  }

  /* The language a question is written in, for its refusal hint: Chinese by its script. */
  function questionLanguage(text, ui) {
    if (!HAN.test(text)) return "en";
    var hans = 0, hant = 0;
    Array.from(text).forEach(function (ch) {
      if (HANS_ONLY.indexOf(ch) >= 0) hans++;
      if (HANT_ONLY.indexOf(ch) >= 0) hant++;
    });
    if (hans !== hant) return hans > hant ? "zh-Hans" : "zh-Hant";
    return ui === "zh-Hans" ? "zh-Hans" : "zh-Hant";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function icon(kind) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[kind]);
    svg.appendChild(path);
    return svg;
  }

  function button(className, text) {
    var b = el("button", className, text);
    b.type = "button";
    return b;
  }

  function shorten(text, n) {
    var chars = Array.from(String(text || ""));
    return chars.length > n ? chars.slice(0, n - 1).join("") + "…" : chars.join("");
  }

  // Highlights are offsets in code points (Python's str), so slice code points, not UTF-16 units.
  function highlightSpans(length, highlights) {
    var spans = [];
    (highlights || []).forEach(function (h) {
      if (!Array.isArray(h) || h.length !== 2) return;
      var a = Math.max(0, Math.min(length, Number(h[0]) | 0));
      var b = Math.max(0, Math.min(length, Number(h[1]) | 0));
      if (b > a) spans.push([a, b]);
    });
    spans.sort(function (x, y) { return x[0] - y[0]; });
    var merged = [];
    spans.forEach(function (s) {
      var last = merged[merged.length - 1];
      if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
      else merged.push([s[0], s[1]]);
    });
    return merged;
  }

  /* Fill `parent` with the passage: highlighted sentences in <mark>; with excerpt, only they. */
  function renderPassage(parent, text, highlights, excerpt) {
    var chars = Array.from(String(text || ""));
    var spans = highlightSpans(chars.length, highlights);
    var slice = function (a, b) { return chars.slice(a, b).join(""); };
    parent.textContent = "";
    if (excerpt && spans.length) {
      spans.forEach(function (s, i) {
        if (i === 0 && s[0] > 0) parent.append("… ");
        if (i > 0) parent.append(" … ");
        parent.appendChild(el("mark", null, slice(s[0], s[1])));
      });
      if (spans[spans.length - 1][1] < chars.length) parent.append(" …");
      return parent;
    }
    var pos = 0;
    spans.forEach(function (s) {
      if (s[0] > pos) parent.append(slice(pos, s[0]));
      parent.appendChild(el("mark", null, slice(s[0], s[1])));
      pos = s[1];
    });
    if (pos < chars.length) parent.append(slice(pos, chars.length));
    return parent;
  }

  /* The answer as text nodes, with each [n] that names a citation turned into a link. */
  function renderAnswer(parent, answer, linkFor) {
    var text = String(answer || "");
    var pos = 0;
    var match;
    MARKER.lastIndex = 0;
    while ((match = MARKER.exec(text)) !== null) {
      var link = linkFor(Number(match[1]));
      if (!link) continue;
      if (match.index > pos) parent.append(text.slice(pos, match.index));
      parent.appendChild(link);
      pos = match.index + match[0].length;
    }
    if (pos < text.length) parent.append(text.slice(pos));
    return parent;
  }

  /* A citation's url (the original at the cited place) is resolved against the server that
     answered, so the widget on another site opens the viewer there. */
  var linkBase = document.baseURI;
  function safeUrl(url) {
    // Only web links open: a javascript: or data: url from a document never becomes a link.
    try {
      var u = new URL(String(url), linkBase);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : "";
    } catch (err) {
      return "";
    }
  }

  /* The parts of a chip's second line: source, date and page, each kept on one line. */
  function metaParts(c, t) {
    var parts = [];
    if (c.source) parts.push(String(c.source));
    if (c.date) parts.push(String(c.date));
    if (c.page !== undefined && c.page !== null && c.page !== "") {
      parts.push(t.page(String(c.page)));
    }
    return parts;
  }

  /* One source as a compact row that opens to its passage, the cited sentences highlighted. */
  function renderChip(c, id, t) {
    var item = el("li", "ac-source");
    item.id = id;
    var row = el("div", "ac-chip-row");
    var chip = button("ac-chip");
    chip.id = id + "-chip";
    chip.setAttribute("aria-expanded", "false");
    chip.setAttribute("aria-controls", id + "-text");
    if (c.n) chip.appendChild(el("span", "ac-num", c.n));
    var label = el("span", "ac-chip-label");
    label.appendChild(el("span", "ac-title", c.title || c.doc_id));
    var meta = el("span", "ac-meta");
    metaParts(c, t).forEach(function (part, i) {
      if (i) meta.append(" · ");
      meta.appendChild(el("span", "ac-nowrap", part));
    });
    label.appendChild(meta);
    chip.appendChild(label);
    row.appendChild(chip);
    var url = c.url ? safeUrl(c.url) : "";
    if (url) {
      var link = el("a", "ac-link", t.open);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.title = t.openTitle;
      link.setAttribute("aria-label", t.open + ": " + (c.title || c.doc_id) + " (" + t.openTitle + ")");
      row.appendChild(link);
    }
    item.appendChild(row);

    var detail = el("div", "ac-detail");
    detail.id = id + "-text";
    detail.hidden = true;
    var passage = el("blockquote", "ac-passage");
    renderPassage(passage, c.text, c.highlights, false);
    detail.appendChild(passage);
    if (Array.isArray(c.also_in) && c.also_in.length) {
      var also = el("div", "ac-also", t.alsoIn);
      c.also_in.forEach(function (d, i) {
        if (i) also.append("; ");
        also.appendChild(el("cite", null, d.title || d.doc_id));
        var m = [d.source, d.date].filter(function (x) { return x; }).join(" · ");
        if (m) also.append(" (" + m + ")");
      });
      detail.appendChild(also);
    }
    item.appendChild(detail);
    item.setOpen = function (open) {
      detail.hidden = !open;
      chip.setAttribute("aria-expanded", String(open));
      item.classList.toggle("ac-open", open);
    };
    chip.addEventListener("click", function () { item.setOpen(detail.hidden); });
    return item;
  }

  function readError(status, body, t) {
    var code = body && body.error && body.error.code;
    if (code === "index_unavailable") return t.notReady;  // the operator detail is in the log
    if (body && body.error && typeof body.error.message === "string" && body.error.message) {
      return body.error.message;
    }
    return t.status(status);
  }

  /* Why a request failed at the network level: "blocked" when the server answers a no-cors
   * request but refuses a CORS one (this origin is not allowed), else "offline". */
  function whyUnreachable(url) {
    var opts = {credentials: "omit", cache: "no-store"};
    return fetch(url, opts).then(function () { return "offline"; }, function () {
      return fetch(url, {mode: "no-cors", credentials: "omit", cache: "no-store"})
        .then(function () { return "blocked"; }, function () { return "offline"; });
    });
  }

  function postJson(url, payload, t, probeUrl) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    return fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(payload),
      signal: controller ? controller.signal : undefined,
      credentials: "omit"
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) {
          var err = new Error(readError(response.status, body, t));
          err.code = body && body.error && body.error.code;
          throw err;
        }
        return body;
      });
    }, function (err) {
      if (err && err.name === "AbortError") throw new Error(t.timeout);
      return whyUnreachable(probeUrl || url).then(function (why) {
        var e = new Error(why === "blocked" ? t.blocked : t.offline);
        e.code = why === "blocked" ? "origin_not_allowed" : "offline";
        throw e;
      });
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  /* The answer and its sources as plain text, for the clipboard. */
  function answerAsText(reply, t) {
    var lines = [String(reply.answer || "")];
    var named = String(reply.answer || "").match(MARKER) || [];
    var citations = (Array.isArray(reply.citations) ? reply.citations : []).filter(function (c) {
      return named.indexOf("[" + c.n + "]") >= 0;
    });
    if (citations.length) {
      lines.push("", t.sources + ":");
      citations.forEach(function (c) {
        var parts = [c.title || c.doc_id].concat(metaParts(c, t));
        var url = c.url ? safeUrl(c.url) : "";
        if (url) parts.push(url);
        lines.push("[" + c.n + "] " + parts.join(", "));
      });
    }
    return lines.join("\n");
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain-http sites have no clipboard API: the old selection way still works there.
    return new Promise(function (resolve, reject) {
      var area = el("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
      area.remove();
      if (ok) resolve(); else reject(new Error("copy"));
    });
  }

  /* Thumbs up/down (labelled with the question they rate), copy, then an optional comment. */
  function renderActions(ctx, reply, question, idPrefix) {
    var t = ctx.t;
    var limits = ctx.limits;
    var box = el("div", "ac-feedback");
    var row = el("div", "ac-feedback-row");
    var status = el("span", "ac-feedback-status");
    status.setAttribute("role", "status");
    var q = shorten(question, 80);
    var citations = Array.isArray(reply.citations) ? reply.citations : [];
    var base = {
      answer_id: reply.answer_id,
      question: String(question || "").slice(0, limits.question_chars),
      answer: String(reply.answer || "").slice(0, limits.answer_chars),
      answered: Boolean(reply.answered),
      passage_ids: citations.map(function (c) { return c.passage_id; })
        .filter(function (id) { return typeof id === "string" && id; }).slice(0, limits.passage_ids)
    };
    var rating = null;
    var buttons = {};

    var form = el("form", "ac-feedback-form");
    form.noValidate = true;
    form.hidden = true;
    var label = el("label", "ac-visually-hidden", t.commentLabel);
    label.htmlFor = idPrefix + "-comment";
    var comment = el("textarea", "ac-feedback-comment");
    comment.id = idPrefix + "-comment";
    comment.rows = 2;
    comment.maxLength = limits.comment_chars;
    comment.placeholder = t.commentPlaceholder;
    var sendComment = el("button", "ac-feedback-send", t.sendComment);
    sendComment.type = "submit";
    form.appendChild(label);
    form.appendChild(comment);
    form.appendChild(sendComment);

    function send(extra) {
      var payload = {};
      Object.keys(base).forEach(function (k) { payload[k] = base[k]; });
      payload.rating = rating;
      Object.keys(extra || {}).forEach(function (k) { payload[k] = extra[k]; });
      return postJson(ctx.feedbackUrl, payload, t, ctx.probeUrl);
    }

    function press(value) {
      rating = value;
      Object.keys(buttons).forEach(function (k) {
        buttons[k].setAttribute("aria-pressed", String(k === value));
      });
    }

    function choose(value) {
      var previous = rating;
      press(value);
      status.textContent = t.sending;
      send({}).then(function () {
        status.textContent = t.thanks;
        form.hidden = false;
      }, function (err) {
        press(previous);  // the server did not keep it: show what it has
        status.textContent = err.message;
      });
    }

    if (typeof reply.answer_id === "string" && reply.answer_id) {
      row.appendChild(el("span", "ac-feedback-label", t.wasHelpful));
      [["up", t.helpful(q)], ["down", t.notHelpful(q)]].forEach(function (pair) {
        var b = button("ac-thumb ac-thumb-" + pair[0]);
        b.setAttribute("aria-label", pair[1]);
        b.setAttribute("aria-pressed", "false");
        b.title = pair[1];
        b.appendChild(icon(pair[0]));
        b.addEventListener("click", function () { choose(pair[0]); });
        buttons[pair[0]] = b;
        row.appendChild(b);
      });
    }
    var copy = button("ac-copy");
    copy.setAttribute("aria-label", t.copyLabel(q));
    copy.title = t.copyLabel(q);
    copy.appendChild(icon("copy"));
    copy.appendChild(el("span", null, t.copy));
    copy.addEventListener("click", function () {
      copyText(answerAsText(reply, t)).then(function () { status.textContent = t.copied; },
                                            function () { status.textContent = t.copyFailed; });
    });
    row.appendChild(copy);
    row.appendChild(status);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = comment.value.trim().slice(0, limits.comment_chars);
      if (!text || !rating) return;
      sendComment.disabled = true;
      status.textContent = t.sending;
      send({comment: text}).then(function () {
        status.textContent = t.commentSent;
        form.hidden = true;
      }, function (err) {
        status.textContent = err.message;
        sendComment.disabled = false;
      });
    });

    box.appendChild(row);
    box.appendChild(form);
    return box;
  }

  /* The kept conversation: [{question, reply}] in sessionStorage, bounded in turns and size. */
  function store(key) {
    var storage = null;
    try { storage = key ? window.sessionStorage : null; } catch (err) { storage = null; }
    return {
      load: function () {
        if (!storage) return [];
        try {
          var items = JSON.parse(storage.getItem(key) || "[]");
          return Array.isArray(items) ? items.filter(function (x) {
            return x && typeof x.question === "string" && x.reply && typeof x.reply.answer === "string";
          }).slice(-KEEP_TURNS) : [];
        } catch (err) {
          return [];
        }
      },
      save: function (items) {
        if (!storage) return;
        var kept = items.slice(-KEEP_TURNS);
        var json = JSON.stringify(kept);
        while (kept.length && json.length > KEEP_CHARS) {  // oldest turns go first
          kept = kept.slice(1);
          json = JSON.stringify(kept);
        }
        try { storage.setItem(key, json); } catch (err) { /* full or disabled: keep in memory */ }
      },
      clear: function () {
        if (!storage) return;
        try { storage.removeItem(key); } catch (err) { /* nothing kept */ }
      }
    };
  }

  /* Build a chat inside `root`. options: apiUrl, feedbackUrl, probeUrl, greeting, suggestions,
   * lang, limits, privacy (bool), storageKey (null: nothing kept), blocked (bool). */
  function createChat(root, options) {
    options = options || {};
    var prefix = "ac" + (++instances);
    var lang = STRINGS[options.lang] ? options.lang : pickLanguage(navigator.languages || navigator.language);
    var t = STRINGS[lang];
    var limits = {};
    Object.keys(DEFAULT_LIMITS).forEach(function (k) {
      var v = options.limits && Number(options.limits[k]);
      limits[k] = v > 0 ? Math.floor(v) : DEFAULT_LIMITS[k];
    });
    var ctx = {
      t: t, limits: limits,
      // /api/feedback sits beside /api/ask on the same host.
      feedbackUrl: options.feedbackUrl || new URL("feedback", options.apiUrl).href,
      probeUrl: options.probeUrl || new URL("health", options.apiUrl).href
    };
    linkBase = new URL(options.apiUrl, document.baseURI).href;
    var kept = store(options.storageKey === undefined ? "accord-chat:" + options.apiUrl : options.storageKey);
    var turns = kept.load();   // completed turns: {question, reply}
    var turnCount = 0;
    var pending = false;

    var chat = el("div", "ac-chat");
    chat.lang = lang;
    // Not a live region itself: it would read every source of every reply. `announce` reads the answer.
    var log = el("section", "ac-log");
    log.setAttribute("aria-label", t.conversation);
    log.tabIndex = -1;
    var announce = el("div", "ac-visually-hidden ac-announce");
    announce.setAttribute("aria-live", "polite");
    var form = el("form", "ac-form");
    form.noValidate = true;
    var fresh = button("ac-new");
    fresh.setAttribute("aria-label", t.newChat);
    fresh.title = t.newChat;
    fresh.appendChild(icon("add"));
    var label = el("label", "ac-visually-hidden", t.question);
    label.htmlFor = prefix + "-input";
    var input = el("textarea", "ac-input");
    input.id = prefix + "-input";
    input.rows = 1;
    input.maxLength = limits.question_chars;
    input.placeholder = options.placeholder || t.placeholder;
    input.setAttribute("enterkeyhint", "send");
    var send = el("button", "ac-send", t.send);
    send.type = "submit";
    var note = el("p", "ac-note");
    note.id = prefix + "-note";
    var busyNote = el("span", "ac-busy-note");
    busyNote.setAttribute("role", "status");
    note.appendChild(busyNote);
    if (options.privacy) note.appendChild(el("span", "ac-privacy", t.privacy));
    input.setAttribute("aria-describedby", note.id);
    form.appendChild(fresh);
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    chat.appendChild(log);
    chat.appendChild(announce);
    chat.appendChild(form);
    chat.appendChild(note);
    root.appendChild(chat);

    function scrollTo(node) {
      // Scroll the log itself: scrollIntoView would also scroll a page hosting the widget.
      var top = node.offsetTop - log.offsetTop - 8;
      log.scrollTop = Math.max(0, top);
    }

    function addMessage(kind, speaker) {
      var msg = el("div", "ac-msg ac-" + kind);
      if (speaker) msg.appendChild(el("span", "ac-visually-hidden ac-speaker", speaker + ":"));
      log.appendChild(msg);
      return msg;
    }

    function greet() {
      if (!options.greeting) return;
      var g = addMessage("bot ac-greeting", t.bot);
      g.appendChild(el("p", "ac-text", options.greeting));
      if (Array.isArray(options.suggestions) && options.suggestions.length) {
        var list = el("ul", "ac-suggestions");
        list.setAttribute("aria-label", t.examples);
        options.suggestions.forEach(function (q) {
          var li = el("li");
          var b = button("ac-suggestion", q);
          b.addEventListener("click", function () { ask(q); input.focus(); });
          li.appendChild(b);
          list.appendChild(li);
        });
        g.appendChild(list);
      }
    }

    function chipList(items, idFor, className) {
      var ol = el("ol", className);
      items.forEach(function (c, i) { ol.appendChild(renderChip(c, idFor(c, i), t)); });
      return ol;
    }

    /* Passages the answer does not cite: the reply's `related`, and any citation whose [n] the
     * answer never names (older servers sent those among the citations). */
    function renderRelated(msg, reply, turn, uncited) {
      var related = (uncited || []).concat(Array.isArray(reply.related) ? reply.related : []).slice(0, 20);
      if (!related.length) return;
      var details = el("details", "ac-related");
      details.appendChild(el("summary", null, t.related(related.length)));
      details.appendChild(chipList(related, function (c, i) {
        return prefix + "-t" + turn + "-r" + i;
      }, "ac-sources ac-related-list"));
      msg.appendChild(details);
    }

    function renderReply(msg, reply, question) {
      var turn = ++turnCount;
      var qlang = STRINGS[questionLanguage(question, lang)];
      msg.className = "ac-msg ac-bot" + (reply.answered ? "" : " ac-noanswer");
      msg.removeAttribute("aria-busy");
      msg.textContent = "";
      msg.appendChild(el("span", "ac-visually-hidden ac-speaker", t.bot + ":"));
      if (!reply.answered) {
        msg.appendChild(el("p", "ac-label", qlang.notFound));
        msg.appendChild(el("p", "ac-text ac-answer", reply.answer));
        msg.appendChild(el("p", "ac-hint", qlang.hint));
        msg.appendChild(renderActions(ctx, reply, question, prefix + "-t" + turn));
        renderRelated(msg, reply, turn);
        return;
      }
      var all = Array.isArray(reply.citations) ? reply.citations : [];
      var named = {};
      String(reply.answer).replace(MARKER, function (m, n) { named[Number(n)] = true; return m; });
      var citations = all.filter(function (c) { return named[c.n]; });
      var uncited = all.filter(function (c) { return !named[c.n]; }).map(function (c) {
        var copy = {};
        Object.keys(c).forEach(function (k) { if (k !== "n") copy[k] = c[k]; });
        return copy;
      });
      var byN = {};
      citations.forEach(function (c) { byN[c.n] = c; });
      var idFor = function (n) { return prefix + "-t" + turn + "-s" + n; };
      var p = el("p", "ac-text ac-answer");
      renderAnswer(p, reply.answer, function (n) {
        var c = byN[n];
        if (!c) return null;
        var a = el("a", "ac-ref", "[" + n + "]");
        a.href = "#" + idFor(n);
        a.setAttribute("aria-label", t.source + " " + n + ": " + (c.title || c.doc_id));
        a.addEventListener("click", function (event) {
          // In the widget the chip lives in a shadow root, where #fragment navigation cannot reach.
          event.preventDefault();
          var item = log.querySelector("#" + idFor(n));
          if (!item) return;
          item.setOpen(true);
          scrollTo(item);
          item.querySelector(".ac-chip").focus({preventScroll: true});
          item.classList.remove("ac-flash");
          void item.offsetWidth;  // restart the flash animation
          item.classList.add("ac-flash");
        });
        return a;
      });
      msg.appendChild(p);
      msg.appendChild(renderActions(ctx, reply, question, prefix + "-t" + turn));
      if (citations.length) {
        var heading = el("p", "ac-sources-label", t.sources);
        heading.id = prefix + "-t" + turn + "-sources";
        msg.appendChild(heading);
        var ol = chipList(citations, function (c) { return idFor(c.n); }, "ac-sources");
        ol.setAttribute("aria-labelledby", heading.id);
        msg.appendChild(ol);
      }
      renderRelated(msg, reply, turn, uncited);
    }

    function renderError(msg, err, question) {
      msg.className = "ac-msg ac-bot ac-error";
      msg.removeAttribute("aria-busy");
      msg.textContent = "";
      msg.setAttribute("role", "alert");
      msg.appendChild(el("span", "ac-visually-hidden ac-speaker", t.bot + ":"));
      msg.appendChild(el("p", "ac-label", t.errorLabel));
      msg.appendChild(el("p", "ac-text", err.message));
      if (err.code === "origin_not_allowed") {
        setBlocked();  // asking again cannot work until the server's settings change
        return;
      }
      var retry = button("ac-retry", t.retry);
      retry.addEventListener("click", function () {
        if (pending) return;
        msg.remove();
        input.focus();  // the button that had focus is gone
        request(question);
      });
      msg.appendChild(retry);
    }

    function setPending(on) {
      pending = on;
      chat.classList.toggle("ac-busy", on);
      if (!on) busyNote.textContent = "";
    }

    function setBlocked() {
      chat.classList.add("ac-blocked");
      input.disabled = true;
      send.disabled = true;
    }

    function historyFor() {
      var sent = [];
      turns.forEach(function (x) {
        sent.push({role: "user", text: x.question.slice(0, limits.turn_chars)});
        sent.push({role: "bot", text: String(x.reply.answer).slice(0, limits.turn_chars)});
      });
      return sent.slice(-limits.history_turns);
    }

    function request(question) {
      var msg = addMessage("bot ac-loading", t.bot);
      msg.setAttribute("aria-busy", "true");
      msg.appendChild(el("span", "ac-dots"));
      msg.appendChild(el("span", "ac-text", t.searching));
      scrollTo(msg);
      setPending(true);
      var payload = {question: question, history: historyFor()};
      return postJson(options.apiUrl, payload, t, ctx.probeUrl).then(function (reply) {
        if (!reply || typeof reply.answer !== "string") throw new Error(t.unreadable);
        turns.push({question: question, reply: reply});
        kept.save(turns);
        renderReply(msg, reply, question);
        announce.textContent = t.said + reply.answer.replace(MARKER, "");
        scrollTo(msg);
        return reply;
      }).catch(function (err) {
        renderError(msg, err, question);
        scrollTo(msg);
        return null;
      }).finally(function () { setPending(false); });
    }

    function showQuestion(question) {
      var mine = addMessage("user", t.you);
      mine.appendChild(el("p", "ac-text", question));
    }

    function ask(text) {
      var question = String(text || "").trim();
      if (!question || chat.classList.contains("ac-blocked")) return null;
      if (pending) {
        busyNote.textContent = t.busy;  // say so: the text stays in the box for later
        return null;
      }
      question = Array.from(question).slice(0, limits.question_chars).join("");
      showQuestion(question);
      input.value = "";
      input.style.height = "";
      return request(question);
    }

    function restore() {
      turns.forEach(function (x) {
        showQuestion(x.question);
        renderReply(addMessage("bot"), x.reply, x.question);
      });
      if (turns.length) scrollTo(log.lastElementChild);
    }

    function reset() {
      if (pending) return;
      turns = [];
      kept.clear();
      log.textContent = "";
      announce.textContent = "";
      greet();
      input.focus();
    }

    greet();
    restore();
    if (options.blocked) {
      renderError(addMessage("bot"), {message: t.blocked, code: "origin_not_allowed"}, "");
    }

    fresh.addEventListener("click", reset);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ask(input.value);
      input.focus();
    });
    input.addEventListener("input", function () {
      // Grow with the text up to the CSS max-height, then scroll.
      input.style.height = "auto";
      input.style.height = input.scrollHeight + 2 + "px";
    });
    input.addEventListener("keydown", function (event) {
      // Enter sends; Shift+Enter makes a new line; never interrupt an IME composition.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ask(input.value);
      }
    });

    return {
      element: chat,
      ask: ask,
      reset: reset,
      lang: lang,
      focus: function () { input.focus(); },
      history: historyFor
    };
  }

  return {
    createChat: createChat,
    renderPassage: renderPassage,
    renderAnswer: renderAnswer,
    highlightSpans: highlightSpans,
    pickLanguage: pickLanguage,
    questionLanguage: questionLanguage,
    strings: STRINGS
  };
}());

/* Accord chat component: the conversation, answers with [n] links, and source cards.
 * Shared by the full page (loaded as /static/chat.js) and the widget (bundled into /widget.js).
 * Every piece of text from the server or the user goes in with textContent, never as HTML. */
var AccordChat = (function () {
  "use strict";

  // Limits of the HTTP contract (shared/API.md).
  var MAX_QUESTION = 1000;
  var MAX_TURNS = 50;
  var MAX_TURN_CHARS = 4000;
  var TIMEOUT_MS = 60000;
  var MAX_COMMENT = 1000;
  var MAX_ANSWER = 4000;
  var MAX_CITED = 20;
  var SVG_NS = "http://www.w3.org/2000/svg";
  // Thumb icons (Material Icons, Apache 2.0), drawn as SVG so no emoji font is needed.
  var THUMBS = {
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 " +
        "1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c" +
        ".09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6." +
          "31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0" +
          "-1.1-.9-2-2-2zm4 0v12h4V3h-4z"
  };
  // Passages whose text beyond the highlights is this short are shown whole, with no toggle.
  var SHORT_REST = 60;
  var MARKER = /\[(\d+)\]/g;

  var instances = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
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

  function restLength(text, highlights) {
    var length = Array.from(String(text || "")).length;
    return highlightSpans(length, highlights).reduce(function (rest, s) {
      return rest - (s[1] - s[0]);
    }, length);
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

  function metaLine(source, date, section, page) {
    return [source, date, section, page].filter(function (x) { return x; }).join(" · ");
  }

  /* A citation's url (the original at the cited place) resolved against the server that
     answered, so the widget on another site opens it there; only http(s) links are made. */
  var linkBase = document.baseURI;
  function citationLink(c) {
    if (!c.url) return null;
    try {
      var url = new URL(c.url, linkBase);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  function renderCitation(c, id) {
    var card = el("li", "ac-source");
    card.id = id;
    card.tabIndex = -1;
    var head = el("div", "ac-source-head");
    head.appendChild(el("span", "ac-num", c.n));
    var href = citationLink(c);
    var title = el(href ? "a" : "span", "ac-title", c.title || c.doc_id);
    if (href) {
      title.href = href;
      title.target = "_blank";
      title.rel = "noopener";
    }
    head.appendChild(title);
    card.appendChild(head);
    card.appendChild(el("div", "ac-meta", metaLine(c.source, c.date, c.section,
      c.page ? "p. " + c.page : "")));

    var passage = el("blockquote", "ac-passage");
    passage.id = id + "-text";
    var collapsible = restLength(c.text, c.highlights) > SHORT_REST &&
      highlightSpans(Array.from(String(c.text || "")).length, c.highlights).length > 0;
    renderPassage(passage, c.text, c.highlights, collapsible);
    card.appendChild(passage);

    if (collapsible) {
      var toggle = el("button", "ac-toggle", "Show whole passage");
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-controls", passage.id);
      toggle.addEventListener("click", function () {
        var open = toggle.getAttribute("aria-expanded") !== "true";
        renderPassage(passage, c.text, c.highlights, !open);
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? "Show less" : "Show whole passage";
        card.classList.toggle("ac-open", open);
      });
      card.appendChild(toggle);
    }

    if (Array.isArray(c.also_in) && c.also_in.length) {
      var also = el("div", "ac-also", "Same text also in: ");
      c.also_in.forEach(function (d, i) {
        if (i) also.append("; ");
        also.appendChild(el("cite", null, d.title || d.doc_id));
        var meta = metaLine(d.source, d.date);
        if (meta) also.append(" (" + meta + ")");
      });
      card.appendChild(also);
    }
    return card;
  }

  function errorMessage(status, body) {
    if (body && body.error && typeof body.error.message === "string" && body.error.message) {
      return body.error.message;
    }
    return "The server answered with status " + status + ".";
  }

  /* Post one question; resolves to the reply, rejects with an Error whose message a person can read. */
  function postQuestion(apiUrl, question, history) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    return fetch(apiUrl, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({question: question, history: history}),
      signal: controller ? controller.signal : undefined,
      credentials: "omit"
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) throw new Error(errorMessage(response.status, body));
        if (!body || typeof body.answer !== "string") {
          throw new Error("The server sent a reply this page cannot read.");
        }
        return body;
      });
    }, function (err) {
      if (err && err.name === "AbortError") {
        throw new Error("The server took too long to answer. Please try again.");
      }
      throw new Error("Could not reach the server. Check your connection and try again.");
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  /* Post a rating or comment to /api/feedback; resolves to the reply, rejects with a readable Error. */
  function postFeedback(url, payload) {
    return fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(payload),
      credentials: "omit"
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) throw new Error(errorMessage(response.status, body));
        return body;
      });
    }, function () {
      throw new Error("Could not reach the server. Check your connection and try again.");
    });
  }

  function thumbIcon(kind) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", THUMBS[kind]);
    svg.appendChild(path);
    return svg;
  }

  /* "Was this helpful?" with a thumbs up/down pair, then an optional comment, for one reply. */
  function renderFeedback(url, reply, question, idPrefix) {
    var box = el("div", "ac-feedback");
    var row = el("div", "ac-feedback-row");
    row.appendChild(el("span", "ac-feedback-label", "Was this helpful?"));
    var status = el("span", "ac-feedback-status");
    status.setAttribute("role", "status");
    var citations = Array.isArray(reply.citations) ? reply.citations : [];
    var base = {
      answer_id: reply.answer_id,
      question: String(question || "").slice(0, MAX_QUESTION),
      answer: String(reply.answer || "").slice(0, MAX_ANSWER),
      answered: Boolean(reply.answered),
      passage_ids: citations.map(function (c) { return c.passage_id; })
        .filter(function (id) { return typeof id === "string" && id; }).slice(0, MAX_CITED)
    };
    var rating = null;
    var buttons = {};

    var form = el("form", "ac-feedback-form");
    form.noValidate = true;
    form.hidden = true;
    var label = el("label", "ac-visually-hidden", "Comment on this answer (optional)");
    label.htmlFor = idPrefix + "-comment";
    var comment = el("textarea", "ac-feedback-comment");
    comment.id = idPrefix + "-comment";
    comment.rows = 2;
    comment.maxLength = MAX_COMMENT;
    comment.placeholder = "What was wrong or missing? (optional)";
    var sendComment = el("button", "ac-feedback-send", "Send comment");
    sendComment.type = "submit";
    form.appendChild(label);
    form.appendChild(comment);
    form.appendChild(sendComment);

    function send(extra) {
      var payload = {};
      Object.keys(base).forEach(function (k) { payload[k] = base[k]; });
      payload.rating = rating;
      Object.keys(extra || {}).forEach(function (k) { payload[k] = extra[k]; });
      return postFeedback(url, payload);
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
      status.textContent = "Sending…";
      send({}).then(function () {
        status.textContent = "Thanks for your feedback.";
        form.hidden = false;
      }, function (err) {
        press(previous);  // the server did not keep it: show what it has
        status.textContent = err.message;
      });
    }

    [["up", "Helpful"], ["down", "Not helpful"]].forEach(function (pair) {
      var b = el("button", "ac-thumb ac-thumb-" + pair[0]);
      b.type = "button";
      b.setAttribute("aria-label", pair[1]);
      b.setAttribute("aria-pressed", "false");
      b.title = pair[1];
      b.appendChild(thumbIcon(pair[0]));
      b.addEventListener("click", function () { choose(pair[0]); });
      buttons[pair[0]] = b;
      row.appendChild(b);
    });
    row.appendChild(status);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = comment.value.trim().slice(0, MAX_COMMENT);
      if (!text || !rating) return;
      sendComment.disabled = true;
      status.textContent = "Sending…";
      send({comment: text}).then(function () {
        status.textContent = "Thanks: your comment was sent.";
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

  /* Build a chat inside `root`. options: apiUrl, feedbackUrl, greeting, suggestions, placeholder. */
  function createChat(root, options) {
    options = options || {};
    var prefix = "ac" + (++instances);
    // /api/feedback sits beside /api/ask on the same host.
    var feedbackUrl = options.feedbackUrl || new URL("feedback", options.apiUrl).href;
    linkBase = new URL(options.apiUrl, document.baseURI).href;
    var history = [];      // completed turns only, as sent to /api/ask
    var turnCount = 0;
    var pending = false;

    var chat = el("div", "ac-chat");
    var log = el("div", "ac-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", "Conversation");
    var form = el("form", "ac-form");
    form.noValidate = true;
    var label = el("label", "ac-visually-hidden", "Your question");
    label.htmlFor = prefix + "-input";
    var input = el("textarea", "ac-input");
    input.id = prefix + "-input";
    input.rows = 1;
    input.maxLength = MAX_QUESTION;
    input.placeholder = options.placeholder || "Ask a question…";
    input.setAttribute("enterkeyhint", "send");
    var send = el("button", "ac-send", "Send");
    send.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    chat.appendChild(log);
    chat.appendChild(form);
    root.appendChild(chat);

    function scrollTo(node) {
      // Scroll the log itself: scrollIntoView would also scroll a page hosting the widget.
      var top = node.offsetTop - log.offsetTop - 8;
      log.scrollTop = Math.max(0, top);
    }

    function addMessage(kind) {
      var msg = el("div", "ac-msg ac-" + kind);
      log.appendChild(msg);
      return msg;
    }

    if (options.greeting) {
      var greet = addMessage("bot ac-greeting");
      greet.appendChild(el("p", "ac-text", options.greeting));
      if (Array.isArray(options.suggestions) && options.suggestions.length) {
        var list = el("ul", "ac-suggestions");
        list.setAttribute("aria-label", "Example questions");
        options.suggestions.forEach(function (q) {
          var li = el("li");
          var b = el("button", "ac-suggestion", q);
          b.type = "button";
          b.addEventListener("click", function () { ask(q); input.focus(); });
          li.appendChild(b);
          list.appendChild(li);
        });
        greet.appendChild(list);
      }
    }

    function renderReply(msg, reply, question) {
      var turn = ++turnCount;
      msg.className = "ac-msg ac-bot" + (reply.answered ? "" : " ac-noanswer");
      msg.removeAttribute("aria-busy");
      msg.textContent = "";
      var addFeedback = function () {
        if (typeof reply.answer_id === "string" && reply.answer_id) {
          msg.appendChild(renderFeedback(feedbackUrl, reply, question, prefix + "-t" + turn));
        }
      };
      if (!reply.answered) {
        msg.appendChild(el("p", "ac-label", "Not in the documents"));
        msg.appendChild(el("p", "ac-text", reply.answer));
        msg.appendChild(el("p", "ac-hint",
          "Answers come only from the indexed documents. Try other words, or another question."));
        addFeedback();
        return;
      }
      var citations = Array.isArray(reply.citations) ? reply.citations : [];
      var byN = {};
      citations.forEach(function (c) { byN[c.n] = c; });
      var idFor = function (n) { return prefix + "-t" + turn + "-s" + n; };
      var p = el("p", "ac-text ac-answer");
      renderAnswer(p, reply.answer, function (n) {
        var c = byN[n];
        if (!c) return null;
        var a = el("a", "ac-ref", "[" + n + "]");
        a.href = "#" + idFor(n);
        a.setAttribute("aria-label", "Source " + n + ": " + (c.title || c.doc_id));
        a.addEventListener("click", function (event) {
          // In the widget the card lives in a shadow root, where #fragment navigation cannot reach.
          event.preventDefault();
          var card = log.querySelector("#" + idFor(n));
          if (!card) return;
          scrollTo(card);
          card.focus({preventScroll: true});
          card.classList.remove("ac-flash");
          void card.offsetWidth;  // restart the flash animation
          card.classList.add("ac-flash");
        });
        return a;
      });
      msg.appendChild(p);
      if (citations.length) {
        msg.appendChild(el("p", "ac-sources-label", "Sources"));
        var ol = el("ol", "ac-sources");
        citations.forEach(function (c) { ol.appendChild(renderCitation(c, idFor(c.n))); });
        msg.appendChild(ol);
      }
      addFeedback();
    }

    function renderError(msg, message, question) {
      msg.className = "ac-msg ac-bot ac-error";
      msg.removeAttribute("aria-busy");
      msg.textContent = "";
      msg.setAttribute("role", "alert");
      msg.appendChild(el("p", "ac-label", "Could not get an answer"));
      msg.appendChild(el("p", "ac-text", message));
      var retry = el("button", "ac-retry", "Try again");
      retry.type = "button";
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
      send.disabled = on;
      chat.classList.toggle("ac-busy", on);
    }

    function request(question) {
      var msg = addMessage("bot ac-loading");
      msg.setAttribute("aria-busy", "true");
      msg.appendChild(el("span", "ac-dots"));
      msg.appendChild(el("span", "ac-text", "Searching the documents…"));
      scrollTo(msg);
      setPending(true);
      var sent = history.slice(-MAX_TURNS);
      return postQuestion(options.apiUrl, question, sent).then(function (reply) {
        history.push({role: "user", text: question});
        history.push({role: "bot", text: reply.answer.slice(0, MAX_TURN_CHARS)});
        renderReply(msg, reply, question);
        scrollTo(msg);
        return reply;
      }, function (err) {
        renderError(msg, err.message, question);
        scrollTo(msg);
        return null;
      }).finally(function () { setPending(false); });
    }

    function ask(text) {
      var question = String(text || "").trim();
      if (!question || pending) return null;
      question = question.slice(0, MAX_QUESTION);
      var mine = addMessage("user");
      mine.appendChild(el("p", "ac-text", question));
      input.value = "";
      input.style.height = "";
      return request(question);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ask(input.value);
      input.focus();
    });
    function fitInput() {
      // Grow with the text up to the CSS max-height, then scroll.
      input.style.height = "auto";
      input.style.height = input.scrollHeight + 2 + "px";
    }
    input.addEventListener("input", fitInput);
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
      focus: function () { input.focus(); },
      history: function () { return history.slice(); }
    };
  }

  return {
    createChat: createChat,
    renderPassage: renderPassage,
    renderAnswer: renderAnswer,
    highlightSpans: highlightSpans
  };
}());

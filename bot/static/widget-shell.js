/* Accord widget shell: the launcher and panel around the chat component, in a shadow root.
 * Only meaningful inside /widget.js, which bundles it with chat.js and the CSS (ACCORD_CSS). */
(function () {
  "use strict";
  var script = document.currentScript;  // only set while this script first runs
  if (!script || !script.src) return;
  // Embedded twice: keep one (the flag, as mounting waits for the server's config).
  if (window.__accordWidget || document.querySelector("accord-widget")) return;
  window.__accordWidget = true;

  var data = script.dataset;
  // The API lives next to widget.js on the host that served it, wherever the page is.
  var base = new URL(".", script.src);
  var apiUrl = new URL("api/ask", base).href;
  var configUrl = new URL("api/config", base).href;
  var left = /left/.test(data.position || "");
  var accent = data.accent && window.CSS && CSS.supports("color", data.accent) ? data.accent : "";
  var OPEN_KEY = "accord-widget-open:" + apiUrl;
  // The host element carries every rule it needs inline and !important: a host page's own
  // stylesheet (even `* {...} !important`) cannot change its place, size or look.
  var HOST_STYLE = "all: initial !important; position: fixed !important; top: 0 !important; " +
    "left: 0 !important; width: 0 !important; height: 0 !important; margin: 0 !important; " +
    "padding: 0 !important; border: 0 !important; display: block !important; " +
    "z-index: 2147483000 !important; visibility: visible !important; opacity: 1 !important; " +
    "transform: none !important; filter: none !important; contain: none !important;";

  /* data-offset="X Y" (or one number for both): pixels from the corner, e.g. to clear a banner. */
  function offsets(value) {
    var parts = String(value || "").trim().split(/[\s,]+/).map(function (v) { return parseInt(v, 10); });
    var clamp = function (v) { return isFinite(v) ? Math.max(0, Math.min(400, v)) : null; };
    var x = clamp(parts[0]);
    var y = parts.length > 1 ? clamp(parts[1]) : x;
    return {x: x, y: y};
  }

  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  function addStyles(shadow) {
    // Constructed sheets pass a host page's strict CSP; <style> is the fallback for old browsers.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(ACCORD_CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (err) {
      shadow.appendChild(node("style", null, ACCORD_CSS));
    }
  }

  /* The server's settings for the widget: title, greeting, examples, limits. blocked: this
   * origin may not call the API (the server answers, but not to this site). */
  function loadConfig() {
    return fetch(configUrl, {credentials: "omit", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () {
        return fetch(configUrl, {mode: "no-cors", credentials: "omit"}).then(
          function () { return {blocked: true}; }, function () { return {}; });
      });
  }

  function keptOpen() {
    try { return window.sessionStorage.getItem(OPEN_KEY) === "1"; } catch (err) { return false; }
  }

  function keepOpen(open) {
    try { window.sessionStorage.setItem(OPEN_KEY, open ? "1" : "0"); } catch (err) { /* no storage */ }
  }

  function mount(config) {
    config = config || {};
    var lang = AccordChat.strings[data.lang] ? data.lang
      : AccordChat.pickLanguage(data.lang ? [data.lang] : (navigator.languages || [navigator.language]));
    var local = (config.translations && config.translations[lang]) || {};
    var pick = function (key) { return local[key] !== undefined ? local[key] : config[key]; };
    var title = String(data.title || pick("title") || "Ask the documents").slice(0, 80);
    var greeting = data.greeting !== undefined ? data.greeting : (pick("greeting") || "");
    var examples = data.examples === "none" ? [] : (pick("examples") || []);

    var host = document.createElement("accord-widget");
    host.setAttribute("data-accord-widget", "");
    host.style.cssText = HOST_STYLE;
    var shadow = host.attachShadow({mode: "open"});
    addStyles(shadow);

    var root = node("div", "aw-root" + (left ? " aw-left" : ""));
    root.lang = lang;
    if (accent) root.style.setProperty("--accord-accent", accent);
    var off = offsets(data.offset);
    if (off.x !== null) root.style.setProperty("--aw-x", off.x + "px");
    if (off.y !== null) root.style.setProperty("--aw-y", off.y + "px");
    var panel = node("section", "aw-panel");
    panel.id = "aw-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);
    var head = node("div", "aw-head");
    head.appendChild(node("h2", "aw-title", title));
    var close = node("button", "aw-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", {"zh-Hant": "關閉對話", "zh-Hans": "关闭对话"}[lang] || "Close chat");
    head.appendChild(close);
    var body = node("div", "aw-body");
    panel.appendChild(head);
    panel.appendChild(body);

    var launcher = node("button", "aw-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", panel.id);
    launcher.appendChild(chatIcon());
    launcher.appendChild(node("span", null, title));

    root.appendChild(panel);
    root.appendChild(launcher);
    shadow.appendChild(root);
    document.body.appendChild(host);

    // Built once: closing only hides the panel, so the conversation is kept.
    var chat = AccordChat.createChat(body, {
      apiUrl: apiUrl, greeting: greeting, suggestions: examples, lang: lang,
      limits: config.limits, privacy: Boolean(config.stores_questions), blocked: Boolean(config.blocked)
    });

    // Theme: data-theme="light" or "dark"; otherwise the visitor's system setting, live.
    var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
    function applyTheme() {
      var dark = data.theme === "dark" || (data.theme !== "light" && media && media.matches);
      root.classList.toggle("aw-dark", Boolean(dark));
      chat.element.classList.toggle("ac-dark", Boolean(dark));
    }
    applyTheme();
    if (media && media.addEventListener) media.addEventListener("change", applyTheme);

    function setOpen(open, quiet) {
      panel.hidden = !open;
      root.classList.toggle("aw-is-open", open);
      launcher.setAttribute("aria-expanded", String(open));
      keepOpen(open);
      if (quiet) return;
      if (open) chat.focus();
      else launcher.focus();
    }
    launcher.addEventListener("click", function () { setOpen(panel.hidden); });
    close.addEventListener("click", function () { setOpen(false); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") setOpen(false);
    });
    if (keptOpen()) setOpen(true, true);  // the visitor moved to another page of the site mid-chat
  }

  function start() {
    loadConfig().then(mount, function () { mount({}); });
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
}());

/* Accord widget shell: the launcher and panel around the chat component, in a shadow root.
 * Only meaningful inside /widget.js, which bundles it with chat.js and the CSS (ACCORD_CSS). */
(function () {
  "use strict";
  var script = document.currentScript;  // only set while this script first runs
  if (!script || !script.src) return;
  if (document.querySelector("[data-accord-widget]")) return;  // embedded twice: keep one

  var data = script.dataset;
  // The API lives next to widget.js on the host that served it, wherever the page is.
  var apiUrl = new URL("api/ask", new URL(".", script.src)).href;
  var title = (data.title || "Ask about the agreements").slice(0, 80);
  var greeting = data.greeting !== undefined ? data.greeting
    : "Ask a question: answers are quoted from the documents, with their sources.";
  var left = data.position === "left";
  var accent = data.accent && window.CSS && CSS.supports("color", data.accent) ? data.accent : "";

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

  function mount() {
    var host = document.createElement("div");
    host.setAttribute("data-accord-widget", "");
    var shadow = host.attachShadow({mode: "open"});
    addStyles(shadow);
    if (accent) host.style.setProperty("--accord-accent", accent);

    var root = node("div", "aw-root" + (left ? " aw-left" : ""));
    var panel = node("section", "aw-panel");
    panel.id = "aw-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);
    var head = node("div", "aw-head");
    head.appendChild(node("h2", "aw-title", title));
    var close = node("button", "aw-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close chat");
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
    var chat = AccordChat.createChat(body, {apiUrl: apiUrl, greeting: greeting});

    function setOpen(open) {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      if (open) chat.focus();
      else launcher.focus();
    }
    launcher.addEventListener("click", function () { setOpen(panel.hidden); });
    close.addEventListener("click", function () { setOpen(false); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") setOpen(false);
    });
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
}());

/* Starts the chat component on the full page; its settings are the JSON in #chat's data-config. */
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root || typeof AccordChat === "undefined") return;
  var config = {};
  try {
    config = JSON.parse(root.getAttribute("data-config") || "{}") || {};
  } catch (err) {
    config = {};
  }
  var chat = AccordChat.createChat(root, {
    apiUrl: new URL(root.getAttribute("data-api") || "api/ask", document.baseURI).href,
    greeting: config.greeting || "",
    suggestions: Array.isArray(config.examples) ? config.examples : [],
    lang: config.lang,
    limits: config.limits,
    privacy: Boolean(config.stores_questions)
  });
  // Theme: ?theme=light|dark on the address, else the system's setting, followed live.
  var html = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function applyTheme() {
    var theme = html.getAttribute("data-theme");
    var dark = theme === "dark" || (theme !== "light" && media && media.matches);
    html.classList.toggle("page-dark", Boolean(dark));
    chat.element.classList.toggle("ac-dark", Boolean(dark));
  }
  applyTheme();
  if (media && media.addEventListener) media.addEventListener("change", applyTheme);
  chat.focus();
}());

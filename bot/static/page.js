/* Starts the chat component on the full page; settings come from data- attributes of #chat. */
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root || typeof AccordChat === "undefined") return;
  var suggestions = [];
  try {
    suggestions = JSON.parse(root.getAttribute("data-suggestions") || "[]");
  } catch (err) {
    suggestions = [];
  }
  var chat = AccordChat.createChat(root, {
    apiUrl: new URL(root.getAttribute("data-api") || "api/ask", document.baseURI).href,
    greeting: root.getAttribute("data-greeting") || "",
    suggestions: suggestions
  });
  chat.focus();
}());

// Small progressive enhancements; the app works without JavaScript (CSP: no inline scripts).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-add-row]");
  if (!button) return;
  event.preventDefault();
  var name = button.getAttribute("data-add-row");
  var template = document.querySelector('template[data-row-template="' + name + '"]');
  var rows = document.querySelector('[data-rows="' + name + '"]');
  if (!template || !rows) return;
  var index = parseInt(button.getAttribute("data-next-index") || "0", 10);
  var html = template.innerHTML.split("__INDEX__").join(String(index));
  var holder = document.createElement(rows.tagName === "TBODY" ? "tbody" : "div");
  holder.innerHTML = html;
  while (holder.firstElementChild) rows.appendChild(holder.firstElementChild);
  button.setAttribute("data-next-index", String(index + 1));
});

document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { event.preventDefault(); window.print(); }
});

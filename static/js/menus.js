// The navigation's menus (<details class="menu">): one open at a time, closed by a click
// elsewhere or by Escape (focus back on the menu's summary). They work without this script;
// it only tidies up after them.
(function () {
  "use strict";
  function menus() { return document.querySelectorAll("details.menu[open]"); }
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.classList.contains("menu") || !opened.open) return;
    menus().forEach(function (other) { if (other !== opened) other.open = false; });
  }, true);
  document.addEventListener("click", function (event) {
    menus().forEach(function (menu) { if (!menu.contains(event.target)) menu.open = false; });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    menus().forEach(function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (menu.contains(document.activeElement) && summary) summary.focus();
    });
  });
})();

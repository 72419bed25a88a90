// Databasement UI: the one dialog element, opened when HTMX fills it, closed by its buttons.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = document.getElementById("dialog");
    if (event.detail.target === dialog && !dialog.open) {
      dialog.showModal();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-close-dialog]");
    if (button) {
      var dialog = document.getElementById("dialog");
      dialog.close();
      dialog.innerHTML = "";
    }
  });
})();

// Databasement UI: the one dialog element, opened when HTMX fills it, closed by its buttons.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = document.getElementById("dialog");
    if (event.detail.target === dialog && !dialog.open) {
      dialog.showModal();
    }
  });
  // The Backup dialog: the primary volume is not offered again as a copy.
  function offerCopies() {
    var primary = document.getElementById("backup-volume");
    if (!primary) {
      return;
    }
    document.querySelectorAll("#backup-copies input[name=volume_ids]").forEach(function (box) {
      var isPrimary = box.value === primary.value;
      box.disabled = isPrimary;
      if (isPrimary) {
        box.checked = false;
      }
    });
  }
  document.addEventListener("htmx:afterSwap", offerCopies);
  document.addEventListener("change", function (event) {
    if (event.target.id === "backup-volume") {
      offerCopies();
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

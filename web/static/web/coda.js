// Copy buttons: <button data-copy="text">. The only script on Coda's pages; everything works without it.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var status = document.getElementById("copy-status");
  var done = function (message) {
    if (status) status.textContent = message;
    button.setAttribute("data-copied", "true");
    setTimeout(function () { button.removeAttribute("data-copied"); }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(button.dataset.copy).then(
      function () { done("Copied " + button.dataset.copy); },
      function () { done("Copy failed: select the text instead"); }
    );
  } else {
    var area = document.createElement("textarea");
    area.value = button.dataset.copy;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); done("Copied " + button.dataset.copy); }
    catch (e) { done("Copy failed: select the text instead"); }
    document.body.removeChild(area);
  }
});

// Filters the rules as one types; without this script the filter form
// still works, on the server.
document.addEventListener("DOMContentLoaded", function () {
  var input = document.getElementById("filter");
  var list = document.getElementById("rules");
  var shown = document.getElementById("shown");
  if (!input || !list) return;
  var template = shown ? shown.textContent.replace(/\d+/, "{n}") : "";
  input.addEventListener("input", function () {
    var needle = input.value.trim().toLowerCase();
    var n = 0;
    list.querySelectorAll("li.rule").forEach(function (li) {
      var hit = needle === "" || li.textContent.toLowerCase().indexOf(needle) >= 0;
      li.hidden = !hit;
      if (hit) n++;
    });
    if (shown) shown.textContent = template.replace("{n}", n);
    var url = new URL(window.location);
    if (needle) url.searchParams.set("q", input.value.trim()); else url.searchParams.delete("q");
    history.replaceState(null, "", url);
  });
});

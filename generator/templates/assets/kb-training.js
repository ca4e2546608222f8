// The training page's "since" box (training.md.j2): hides the lesson rows of reviews held
// before the chosen day. Rows carry data-held="YYYY-MM-DD" (ISO dates compare as text).
// Without JavaScript the box stays hidden and every row shows. No record text is read or
// written here: only attributes, the hidden flag and a count.
(function () {
  "use strict";
  var form = document.getElementById("kb-since");
  if (!form) return;
  var input = form.querySelector("input[name=since]");
  var output = form.querySelector("output");
  var KEY = "kb-training-since";

  function apply(day) {
    var shown = 0, total = 0;
    document.querySelectorAll("tr[data-held]").forEach(function (row) {
      var keep = !day || row.getAttribute("data-held") >= day;
      row.hidden = !keep;
      if (row.closest("table[data-kb-all]")) {
        total += 1;
        if (keep) shown += 1;
      }
    });
    output.textContent = day ? shown + " of " + total + " lessons on this page" : "";
    try {
      if (day) localStorage.setItem(KEY, day); else localStorage.removeItem(KEY);
    } catch (e) { /* storage may be off: the choice then lasts for this page only */ }
    var url = new URL(window.location.href);
    if (day) url.searchParams.set("since", day); else url.searchParams.delete("since");
    history.replaceState(null, "", url);
  }

  var valid = /^\d{4}-\d{2}-\d{2}$/;
  var start = new URLSearchParams(window.location.search).get("since");
  if (!start) {
    try { start = localStorage.getItem(KEY); } catch (e) { start = null; }
  }
  input.value = start && valid.test(start) ? start : "";
  form.hidden = false;
  input.addEventListener("change", function () { apply(valid.test(input.value) ? input.value : ""); });
  form.querySelector("[data-kb-since-default]").addEventListener("click", function () {
    input.value = input.getAttribute("data-default");
    apply(input.value);
  });
  form.querySelector("[data-kb-since-clear]").addEventListener("click", function () {
    input.value = "";
    apply("");
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  apply(input.value);
})();

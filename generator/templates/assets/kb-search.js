// The search page (search.md.j2): start Pagefind's UI over the index `kb build` wrote
// into pagefind/, or say plainly that there is none (a `kb serve` preview has none).
// Every URL is resolved from the page's own address, so the site works under a sub-path
// (a GitHub Pages project site) and offline; nothing is fetched from another host.
(function () {
  "use strict";
  var box = document.getElementById("kb-search");
  if (!box) return;
  var root = new URL(box.getAttribute("data-kb-root") || "./", document.baseURI);
  var bundle = new URL("pagefind/", root);

  function say(text, command) {
    var status = document.createElement("p");
    status.className = "kb-search-status";
    status.append(text);
    if (command) {
      var code = document.createElement("code");
      code.textContent = command;
      status.append(" From the command line, ", code, " searches the same reviews.");
    }
    box.replaceChildren(status);
  }

  function start() {
    var ui = new window.PagefindUI({
      element: box,
      baseUrl: root.pathname,        // result links: the index holds root-relative paths
      bundlePath: bundle.pathname,
      showImages: false,
      showSubResults: false,       // one result per review, with its best passage
      translations: { placeholder: "Search the reviews" },
    });
    // search/?q=words (a link, or a search box on another page) runs that search at once.
    var query = new URLSearchParams(window.location.search).get("q");
    if (query) ui.triggerSearch(query);
    // Pagefind's form says action="javascript:void(0)" and prevents its submit itself: the
    // attribute goes, so the page holds no javascript: URL (and a strict CSP stays happy).
    box.querySelectorAll("form[action^='javascript:']").forEach(function (form) { form.removeAttribute("action"); });
    var input = box.querySelector("input");
    if (input) input.focus();
  }

  var script = document.createElement("script");
  script.src = new URL("pagefind-ui.js", bundle).href;
  script.addEventListener("load", function () {
    // The styles only once the UI is there: a site without an index asks for one file, not two.
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("pagefind-ui.css", bundle).href;
    document.head.append(css);
    box.replaceChildren();
    try {
      start();
    } catch (error) {
      say("The search could not start (" + error + ").", "kb search WORDS");
    }
  });
  script.addEventListener("error", function () {
    say("This site has no search index: kb build writes one, a kb serve preview does not.", "kb search WORDS");
  });
  document.head.append(script);
})();

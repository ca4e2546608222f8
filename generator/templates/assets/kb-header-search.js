// The search box in every page's header (theme partials/header.html): results as you type,
// from the Pagefind index `kb build` writes into pagefind/. One result per page (only review
// pages' articles and the guides are indexed), its best passage below the title; reviews
// first, then the guides.
// Pagefind's excerpts are HTML (its escaped text plus <mark>): they are parsed into an inert
// document and only their text and marks are copied, so no record text becomes markup here.
// Without an index (a kb serve preview) or without JavaScript, Enter opens search/?q=.
(function () {
  "use strict";
  var box = document.querySelector("[data-kb-header-search]");
  if (!box) return;
  var input = box.querySelector("input");
  var list = box.querySelector(".kb-header-results");
  var root = new URL(box.getAttribute("data-kb-root") || "./", document.baseURI);
  var loading = null;
  var latest = 0;
  var MAX = 8;     // review results shown
  var GUIDES = 2;  // guide pages shown after them
  var POOL = 20;   // results whose data is loaded to pick those from

  function isReview(result) {
    // A review's page (or a TLP:RED placeholder) is at incidents/<ID>/; guides are elsewhere.
    return /\/incidents\/[^/]+\/(?:[?#]|$)/.test(result.url || "");
  }

  function load() {
    if (!loading) {
      loading = import(new URL("pagefind/pagefind.js", root).href).then(function (pagefind) {
        pagefind.options({ baseUrl: root.pathname, excerptLength: 24 });
        return pagefind;
      });
      loading.catch(function () { /* no index here: the form still submits to the Search page */ });
    }
    return loading;
  }

  function excerpt(html) {
    var span = document.createElement("span");
    span.className = "kb-header-excerpt";
    var inert = new DOMParser().parseFromString("<body>" + html + "</body>", "text/html").body;
    inert.childNodes.forEach(function (node) {
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        span.append(mark);
      } else {
        span.append(node.textContent);
      }
    });
    return span;
  }

  function show(results, query) {
    list.replaceChildren();
    results.forEach(function (data) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = data.url;
      var title = document.createElement("span");
      title.className = "kb-header-title";
      title.textContent = (data.meta && data.meta.title) || data.url;
      link.append(title, excerpt(data.excerpt || ""));
      item.append(link);
      list.append(item);
    });
    if (!results.length) {
      var none = document.createElement("li");
      none.className = "kb-header-none";
      none.textContent = "No review matches " + query + ".";
      list.append(none);
    }
    list.hidden = false;
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
  }

  input.addEventListener("focus", load);
  input.addEventListener("input", function () {
    var query = input.value.trim();
    var mine = ++latest;
    if (!query) { close(); return; }
    var pagefind;
    load().then(function (loaded) {
      pagefind = loaded;
      return pagefind.debouncedSearch(query, {}, 150);
    }).then(function (found) {
      if (!found || mine !== latest) return null;  // a newer query is on its way
      // Reviews first, then guide pages, told apart by their address. (No Pagefind filter:
      // with two values in one filter Pagefind writes its index in a different order on
      // every run, and builds must be byte-identical.)
      return Promise.all(found.results.slice(0, POOL).map(function (r) { return r.data(); })).then(function (all) {
        var reviews = all.filter(isReview);
        var guides = all.filter(function (r) { return !isReview(r); });
        var first = reviews.slice(0, MAX);
        return first.concat(guides.slice(0, Math.max(GUIDES, MAX - first.length)));
      });
    }).then(function (results) {
      if (results && mine === latest) show(results, query);
    }).catch(function () { close(); });
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { close(); input.blur(); }
  });
  document.addEventListener("click", function (event) {
    if (!box.contains(event.target)) close();
  });
})();

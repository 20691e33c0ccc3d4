(function () {
  "use strict";
  // Sort and filter for tables. The page is complete without this script: it only adds
  // controls. It reads cell text with textContent and never writes HTML.
  function cellValue(row, i) {
    var cell = row.cells[i];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-v");
    return v !== null ? v : cell.textContent.trim();
  }
  function compare(a, b, numeric) {
    if (numeric) { return (parseFloat(a) || 0) - (parseFloat(b) || 0); }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  function makeSortable(table) {
    var head = table.tHead;
    var body = table.tBodies[0];
    if (!head || !body) { return; }
    var ths = head.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, i) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(ths, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var numeric = th.classList.contains("num");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var c = compare(cellValue(a, i), cellValue(b, i), numeric);
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  function makeFilterable(table) {
    var body = table.tBodies[0];
    var wrap = table.parentNode;
    if (!body || !wrap) { return; }
    var bar = document.createElement("label");
    bar.className = "filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter rows (principal, IP, user agent, account…)";
    input.setAttribute("aria-label", "Filter " + (table.getAttribute("data-name") || "rows"));
    var count = document.createElement("span");
    bar.appendChild(input);
    bar.appendChild(count);
    wrap.parentNode.insertBefore(bar, wrap);
    function apply() {
      var q = input.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (r) {
        var hit = !q || r.textContent.toLowerCase().indexOf(q) !== -1;
        r.hidden = !hit;
        if (hit) { shown += 1; }
      });
      count.textContent = q ? shown + " of " + body.rows.length + " rows" : "";
    }
    input.addEventListener("input", apply);
  }
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  document.querySelectorAll("table.filterable").forEach(makeFilterable);
})();

// Sortable tables: click a header with class "sortable"; cells sort by data-sort, else text.
(function () {
  function key(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) raw = cell.textContent.trim();
    var num = parseFloat(raw);
    return isNaN(num) ? raw.toLowerCase() : num;
  }
  function sortBy(table, index, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var desc = !header.classList.contains("sorted-desc");
    table.querySelectorAll("th").forEach(function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
    });
    header.classList.add(desc ? "sorted-desc" : "sorted-asc");
    rows.sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      var blankX = x === "" || x === "-", blankY = y === "" || y === "-";
      if (blankX !== blankY) return blankX ? 1 : -1;  // no value sorts last either way
      if (x < y) return desc ? 1 : -1;
      if (x > y) return desc ? -1 : 1;
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th.sortable").forEach(function (th) {
      th.addEventListener("click", function () { sortBy(table, th.cellIndex, th); });
    });
  });
})();

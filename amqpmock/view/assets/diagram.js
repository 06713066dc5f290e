(function () {
  "use strict";
  var svg = document.querySelector("svg.amqpmock-diagram");
  var conn = document.getElementById("f-conn");
  var queue = document.getElementById("f-queue");
  var setup = document.getElementById("f-setup");
  var count = document.getElementById("f-count");
  var ROW = +svg.getAttribute("data-row-height");
  var HEAD = +svg.getAttribute("data-loop-head");
  var TAIL = +svg.getAttribute("data-loop-tail");
  var TOP = +svg.getAttribute("data-top");
  var rows = Array.prototype.slice.call(svg.querySelectorAll("g.row"));

  function wants(row) {
    var c = conn.value, q = queue.value;
    if (c && (" " + row.getAttribute("data-connections") + " ").indexOf(" " + c + " ") < 0) {
      return false;
    }
    if (q && JSON.parse(row.getAttribute("data-queues") || "[]").indexOf(q) < 0) {
      return false;
    }
    if (!setup.checked && row.getAttribute("data-row-kind") === "note") { return false; }
    return true;
  }

  function layout() {
    var y = TOP, shown = 0, used = {};
    Array.prototype.forEach.call(svg.querySelectorAll("g.block"), function (block) {
      var loop = +block.getAttribute("data-times") > 1;
      var mine = block.querySelectorAll("g.row");
      var visible = Array.prototype.filter.call(mine, wants);
      var frame = block.querySelector(".loop-frame");
      var label = block.querySelector(".loop-label");
      var start = y;
      if (loop && visible.length) { y += HEAD; }
      Array.prototype.forEach.call(mine, function (row) {
        if (visible.indexOf(row) < 0) { row.style.display = "none"; return; }
        row.style.display = "";
        row.setAttribute("transform", "translate(0," + (y + ROW / 2) + ")");
        y += ROW;
        shown += 1;
        ["data-source", "data-target", "data-participant-ref"].forEach(function (a) {
          var v = row.getAttribute(a);
          if (v) { used[v] = true; }
        });
      });
      if (frame) {
        if (visible.length) {
          y += TAIL;
          frame.style.display = label.style.display = "";
          frame.setAttribute("y", start);
          frame.setAttribute("height", y - start);
          label.setAttribute("y", start + 13);
          y += 4;
        } else {
          frame.style.display = label.style.display = "none";
        }
      }
    });
    var height = y + 24;
    svg.setAttribute("height", height);
    var box = svg.getAttribute("viewBox").split(" ");
    svg.setAttribute("viewBox", box[0] + " " + box[1] + " " + box[2] + " " + height);
    Array.prototype.forEach.call(svg.querySelectorAll("g.participant"), function (p) {
      p.querySelector(".lifeline").setAttribute("y2", height - 10);
      var id = p.getAttribute("data-participant");
      p.classList.toggle("idle", !used[id]);
    });
    count.textContent = shown + " of " + rows.length + " rows";
    count.setAttribute("data-visible-rows", String(shown));
  }

  function highlight(rpc, on) {
    Array.prototype.forEach.call(
      document.querySelectorAll('[data-rpc="' + rpc + '"]'),
      function (el) { el.classList.toggle("hl", on); }
    );
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-rpc]"), function (el) {
    var rpc = el.getAttribute("data-rpc");
    el.addEventListener("mouseenter", function () { highlight(rpc, true); });
    el.addEventListener("mouseleave", function () { highlight(rpc, false); });
  });
  // filters live in the URL's fragment too (#connection=2&queue=q&setup=0): shareable
  function fromHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var has = function (select, value) {
      return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    };
    var c = params.get("connection"), q = params.get("queue");
    conn.value = c !== null && has(conn, c) ? c : "";
    queue.value = q !== null && has(queue, q) ? q : "";
    setup.checked = params.get("setup") !== "0";
  }
  function toHash() {
    var params = new URLSearchParams();
    if (conn.value) { params.set("connection", conn.value); }
    if (queue.value) { params.set("queue", queue.value); }
    if (!setup.checked) { params.set("setup", "0"); }
    var hash = params.toString();
    if (history.replaceState) {
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    }
  }
  [conn, queue, setup].forEach(function (el) {
    el.addEventListener("change", function () { toHash(); layout(); });
  });
  window.addEventListener("hashchange", function () { fromHash(); layout(); });
  fromHash();
  layout();
  document.body.setAttribute("data-js-ok", "1");
})();

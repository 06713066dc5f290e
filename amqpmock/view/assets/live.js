// The live page: polls the broker's state and the diagram of its traffic once a second
// and redraws the tables and the diagram. No framework, no network beyond this origin.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const esc = (text) =>
    String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  function table(id, rows, columns, key) {
    const body = rows
      .map(
        (row) =>
          `<tr data-row="${esc(row[key])}">` +
          columns.map(([field, cls]) => `<td class="${cls || ""}" data-field="${field}">${esc(row[field] ?? "")}</td>`).join("") +
          "</tr>"
      )
      .join("");
    $(id).querySelector("tbody").innerHTML = body || `<tr><td colspan="${columns.length}" class="empty">none</td></tr>`;
  }

  async function refresh() {
    try {
      const state = await (await fetch("amqpmock/state", { cache: "no-store" })).json();
      table("connections", state.connections, [["name"], ["user"], ["vhost"], ["channels", "num"], ["client"]], "name");
      table("queues", state.queues, [["vhost"], ["name"], ["type"], ["messages_ready", "num"], ["messages_unacknowledged", "num"], ["consumers", "num"]], "name");
      table("exchanges", state.exchanges, [["vhost"], ["name"], ["type"], ["durable"]], "name");
      table("bindings", state.bindings, [["vhost"], ["source"], ["destination"], ["routing_key"]], "routing_key");
      table("messages", state.messages, [["event"], ["exchange"], ["routing_key"], ["where"], ["body", "body"]], "event");
      $("updated").textContent = new Date().toLocaleTimeString();
      $("updated").dataset.polls = String(Number($("updated").dataset.polls || 0) + 1);
      const diagram = await (await fetch("amqpmock/diagram", { cache: "no-store" })).text();
      $("diagram").innerHTML = diagram;
    } catch (error) {
      $("updated").textContent = "broker not reachable";
    }
  }

  refresh();
  setInterval(refresh, 1000);
})();

// The board: every change by lane, with the running agents' tool calls updating live.
"use strict";

(() => {
  const { el, get, post, say, when, money, live, url } = specflow;
  const LANES = ["needs-you", "running", "open", "archived"];
  const ACTIVITY = new Set(["tool", "output", "refused", "text", "phase", "step"]);

  function card(c, queued) {
    const action = c.next_action
      ? el("button", {
          class: "act " + (c.next_action.name === "approve" ? "primary" : c.next_action.name === "cancel" ? "danger" : ""),
          "data-action": c.next_action.name,
          text: c.next_action.label,
          onclick: (event) => act(event, c.id, c.next_action.name),
        })
      : null;
    const tasks = c.tasks.total ? `${c.tasks.done}/${c.tasks.total} tasks` : "no tasks";
    return el(
      "article",
      { class: `card lane-${c.lane}`, "data-change": c.id, "data-state": c.state || "" },
      el("h3", {}, el("a", { href: url(`/changes/${encodeURIComponent(c.id)}`), text: c.id })),
      c.goal ? el("p", { class: "goal", text: c.goal }) : null,
      el("p", { class: "meta" },
        el("span", { class: "badge state", text: c.state || "unmanaged" }),
        c.phase ? el("span", { class: "badge phase", text: `${c.status}: ${c.phase}` }) : null,
        queued ? el("span", { class: "badge queued", title: "a queued run of specflow worker", text: queued }) : null),
      c.needs ? el("p", { class: "needs-reason", text: c.needs_reason }) : null,
      el("p", { class: "activity", text: c.lane === "running" ? c.activity || "starting…" : "" }),
      el("p", { class: "facts", text: `${tasks} · ${money(c)} · ${when(c.last_activity)}${c.machine ? ` · on ${c.machine}` : ""}` }),
      action,
    );
  }

  function render(board) {
    document.getElementById("hub").textContent = board.hub;
    for (const lane of LANES) {
      const section = document.getElementById(`lane-${lane}`);
      const cards = board.cards.filter((c) => c.lane === lane);
      section.querySelector(".count").textContent = cards.length ? `(${cards.length})` : "";
      section.querySelector(".cards").replaceChildren(...cards.map((c) => card(c, (board.queued || {})[c.id])));
    }
  }

  async function refresh() {
    try {
      render(await get("/api/board"));
    } catch (error) {
      say(error.message, error.fix);
    }
  }

  async function act(event, id, action) {
    event.target.disabled = true;
    try {
      await post(`/api/changes/${encodeURIComponent(id)}/${action}`, {});
      say("");
      await refresh();
    } catch (error) {
      say(error.message, error.fix);
      event.target.disabled = false;
    }
  }

  live("/api/stream", {
    board: render,
    agent: (event) => {
      if (!ACTIVITY.has(event.kind)) return;
      const node = document.querySelector(`article[data-change="${CSS.escape(event.change)}"] .activity`);
      if (node) node.textContent = event.message;
    },
  });
  refresh();
})();

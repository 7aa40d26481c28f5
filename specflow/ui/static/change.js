// A change's page: live transcript, timeline, artifacts, diff, checkpoints, and its actions.
"use strict";

(() => {
  const { el, get, post, say, when, money, live, url } = specflow;
  const id = document.querySelector('meta[name="specflow-change"]').getAttribute("content");
  const api = `/api/changes/${encodeURIComponent(id)}`;
  const seen = new Set();
  document.getElementById("change-id").textContent = id;
  document.getElementById("back").setAttribute("href", url("/"));
  document.title = `specflow · ${id}`;

  function transcriptLine(event) {
    const key = `${event.run}|${event.time}|${event.kind}|${event.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    const list = document.getElementById("transcript");
    list.append(
      el("li", { class: `ev ev-${event.kind}` },
        el("span", { class: "time", text: when(event.time).slice(11) }),
        el("span", { class: "kind", text: event.kind }),
        el("span", { class: "msg", text: event.message })),
    );
    list.scrollTop = list.scrollHeight;
  }

  function summary(data) {
    const card = data.card || {};
    const status = data.status;
    document.getElementById("goal").textContent = card.goal || "";
    document.getElementById("state").textContent = status.state || "unmanaged";
    document.getElementById("status").textContent = card.phase ? `${status.status}: ${card.phase}` : status.status;
    document.getElementById("needs").textContent = card.needs_reason || "";
    document.getElementById("tasks").textContent = `${status.tasks.done}/${status.tasks.total} tasks`;
    document.getElementById("cost").textContent = money(card);
    document.getElementById("last").textContent = when(status.last_activity);
    const ran = status.last_attempt;
    document.getElementById("machine").textContent = ran && ran.machine ? ` · last attempt on ${ran.machine}` : "";
    const running = card.lane === "running";
    const show = {
      advance: !running && card.lane !== "archived" && !card.needs,
      retry: !running && ["failed", "interrupted", "budget"].includes(card.needs),
      cancel: running,
      merge: card.needs === "merge",
      approve: !running && card.lane !== "archived",
      reject: !running && card.lane !== "archived",
    };
    for (const [name, visible] of Object.entries(show)) {
      const button = document.getElementById(`do-${name}`);
      button.hidden = !visible;
      button.disabled = false;
    }
  }

  function entry(e) {
    const cost = e.cost_usd !== null ? ` · $${e.cost_usd.toFixed(4)}` : "";
    const tokens = Object.values(e.tokens).reduce((a, b) => a + b, 0);
    const facts = [
      e.agent ? `agent ${e.agent}${e.model ? ` (${e.model})` : ""}` : null,
      e.session_id ? `session ${e.session_id}` : null,
      tokens ? `${tokens} tokens` : null,
      e.duration_s !== null ? `${e.duration_s.toFixed(1)} s` : null,
      e.checkpoint !== null ? `checkpoint #${e.checkpoint}` : null,
    ].filter(Boolean).join(" · ");
    const item = el("li", { class: `entry outcome-${e.outcome}` },
      el("p", { class: "head" },
        el("span", { class: "time", text: when(e.time) }),
        el("strong", { text: ` ${e.trigger} ` }),
        `${e.from || "-"} → ${e.to || "-"} `,
        el("span", { class: `badge outcome`, text: e.outcome + (e.attempt ? ` (attempt ${e.attempt})` : "") }),
        cost),
      facts ? el("p", { class: "facts", text: facts }) : null,
      e.by ? el("p", { class: "note", text: `${e.by}${e.note ? `: ${e.note}` : ""}` }) : null);
    if (e.steps.length) {
      item.append(el("ul", { class: "steps" }, ...e.steps.map((s) =>
        el("li", { class: s.ok ? "ok" : "bad", text: `${s.ok ? "✓" : "✗"} ${s.stage} ${s.text}${s.ok || !s.reason ? "" : `: ${s.reason}`}` }))));
    }
    if (e.reasons.length) item.append(el("ul", { class: "reasons" }, ...e.reasons.map((r) => el("li", { text: r }))));
    if (e.refused.length) {
      item.append(el("ul", { class: "refused" }, ...e.refused.map((r) =>
        el("li", {}, el("strong", { text: `refused ${r.kind} ${r.workspace}:${r.path}` }), ` — ${r.detail}. `, el("em", { text: r.restore })))));
    }
    if (e.prompt_kept) {
      const box = el("pre", { class: "prompt", hidden: true });
      item.append(el("button", { class: "small", text: "show the prompt", onclick: async (event) => {
        if (box.hidden && !box.textContent) box.textContent = (await get(`${api}/prompts/${e.prompt_sha256}`)).prompt;
        box.hidden = !box.hidden;
        event.target.textContent = box.hidden ? "show the prompt" : "hide the prompt";
      } }), box);
    }
    return item;
  }

  function checkpoint(c) {
    const button = el("button", { class: "small", "data-checkpoint": c.number, text: "revert to this" });
    button.addEventListener("click", async () => {
      if (!button.classList.contains("confirm")) {
        button.classList.add("confirm");
        button.textContent = `confirm: restore checkpoint #${c.number}`;
        return;
      }
      button.disabled = true;
      try {
        const result = await post(`${api}/revert`, { checkpoint: c.number });
        say(result.summary, "", "ok");
        await load();
      } catch (error) {
        say(error.message, error.fix);
        button.disabled = false;
      }
    });
    return el("li", {}, el("strong", { text: `#${c.number}` }), ` ${when(c.time)} before ${c.phase} (state ${c.state}) `, button);
  }

  function html(node, markup) {
    // markup comes from the server's Markdown and Pygments renderers, which escape what they are given
    node.innerHTML = markup;
    return node;
  }

  // a section is drawn again only when its data changed, so what a person opened or is about
  // to press (a prompt, a revert waiting for its confirmation) stays as it is
  const drawn = {};
  function draw(id, data, render) {
    const key = JSON.stringify(data);
    if (drawn[id] === key) return;
    drawn[id] = key;
    document.getElementById(id).replaceChildren(...render(data));
  }

  async function load() {
    try {
      const data = await get(api);
      summary(data);
      data.events.forEach(transcriptLine);
      draw("timeline", data.timeline.entries, (entries) => entries.map(entry).reverse());
      draw("artifacts", data.artifacts, (artifacts) => artifacts.map((a) =>
        el("details", { class: "artifact", open: true }, el("summary", { text: a.name }), html(el("div", { class: "md" }), a.html))));
      draw("checkpoints", data.checkpoints, (checkpoints) => checkpoints.map(checkpoint));
    } catch (error) {
      say(error.message, error.fix);
    }
  }

  async function loadDiff() {
    const box = document.getElementById("diff");
    try {
      const data = await get(`${api}/diff`);
      const parts = [];
      for (const repo of data.repos) {
        parts.push(el("h3", { text: `${repo.repo}: ${repo.branch} against ${repo.base || "its base"}` }));
        if (!repo.files.length) parts.push(el("p", { class: "muted", text: repo.branch_exists ? "no changes" : "no work yet" }));
        for (const f of repo.files) {
          parts.push(el("details", { class: "file", open: true, "data-path": f.path },
            el("summary", {}, el("span", { text: f.path }), el("span", { class: "plus", text: ` +${f.added}` }), el("span", { class: "minus", text: ` -${f.removed}` })),
            html(el("div", { class: "code" }), f.html)));
        }
      }
      box.replaceChildren(...parts);
    } catch (error) {
      box.replaceChildren(el("p", { class: "muted", text: `${error.message}${error.fix ? ` — ${error.fix}` : ""}` }));
    }
  }

  for (const button of document.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      const body = ["approve", "reject"].includes(action) ? { note: document.getElementById("note").value } : {};
      button.disabled = true;
      try {
        await post(`${api}/${action}`, body);
        say(`${action}: done`, "", "ok");
        await load();
        if (["merge"].includes(action)) await loadDiff();
      } catch (error) {
        say(error.message, error.fix);
        button.disabled = false;
      }
    });
  }

  let reloading = null;
  live(`/api/stream?change=${encodeURIComponent(id)}`, {
    card: () => load(),
    agent: (event) => {
      transcriptLine(event);
      // a phase that moves (starts, checks, ends) changes the summary and the timeline
      if (["phase", "result", "step", "warning"].includes(event.kind) && !reloading) {
        reloading = setTimeout(async () => { reloading = null; await load(); }, 300);
      }
    },
  });
  load();
  loadDiff();
  // a missed message (a reconnect) is caught up by looking again now and then
  setInterval(load, 10000);
})();

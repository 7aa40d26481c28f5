// Shared by every page: the tokens, JSON requests, live updates, small DOM helpers.
"use strict";

const specflow = (() => {
  const meta = (name) => {
    const el = document.querySelector(`meta[name="${name}"]`);
    return el ? el.getAttribute("content") : "";
  };
  const token = meta("specflow-token");
  const csrf = meta("specflow-csrf");
  const strict = meta("specflow-strict") === "1";

  // on another host than loopback every request carries the token itself
  function url(path) {
    if (!strict) return path;
    return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
  }

  async function request(method, path, body) {
    const headers = { "X-Specflow-Token": token };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") {
      headers["X-CSRF-Token"] = csrf;
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    const response = await fetch(url(path), init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.error || `HTTP ${response.status}`);
      error.fix = data.fix;
      throw error;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function say(text, fix, kind) {
    const box = document.getElementById("message");
    if (!box) return;
    box.hidden = !text;
    box.className = "message " + (kind || "error");
    box.textContent = text + (fix ? ` — ${fix}` : "");
  }

  function when(stamp) {
    if (!stamp) return "-";
    return stamp.slice(0, 19).replace("T", " ");
  }

  function money(card) {
    const cost = `$${(card.cost_usd || 0).toFixed(2)}`;
    return card.budget_usd ? `${cost} of $${card.budget_usd}` : cost;
  }

  // server-sent events; the browser reconnects on its own (the server says retry: 1000)
  function live(path, handlers) {
    const state = document.getElementById("live");
    const source = new EventSource(url(path), { withCredentials: true });
    source.onopen = () => { if (state) { state.textContent = "live"; state.className = "live on"; } };
    source.onerror = () => { if (state) { state.textContent = "reconnecting…"; state.className = "live off"; } };
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    }
    return source;
  }

  return { url, get: (p) => request("GET", p), post: (p, b) => request("POST", p, b), el, say, when, money, live };
})();

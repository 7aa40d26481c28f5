"""A scripted Anthropic Messages API on 127.0.0.1, for driving the real Claude Code binary offline.

The replies are chosen from the *content* of each request, never from the order of requests (the
CLI sends side requests of its own).  The prompt carries the script as directive lines::

    SCRIPT: write <path> <text...>     a Write tool call (text: ``\\n`` becomes a newline)
    SCRIPT: edit <path> <old> => <new> an Edit tool call
    SCRIPT: bash <command...>          a Bash tool call
    SCRIPT: read <path>                a Read tool call
    SCRIPT: loop                       a Bash ``true`` call, again and again, forever
    SCRIPT: hang                       no reply at all until the server stops (or 120 s)
    SCRIPT: answer <text...>           the final text (default: ``done``)

A ``<path>`` holding a space is written as a JSON string (``json.dumps(path)``, ``path_word``).

The directives are read from the latest user message that has any (so a resumed session follows
the new prompt), and the number of tool calls the assistant made since that message says which
directive comes next.  A prompt the tests cannot write themselves (a built-in template, as in
``specflow demo --agent claude-code``) gets its directives from a *playbook*: a function of the
prompt's text returning directive lines, or None when the text is not a prompt it knows.

Every request is logged (method, path, Host header, body) so tests can assert that everything
the binary sent came here.

Used by ``tests/claude/conftest.py`` and ``benchmarks/claude_bench.py``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIRECTIVE = "SCRIPT:"
INPUT_TOKENS = 120
OUTPUT_TOKENS = 30
HANG_LIMIT_S = 120.0


@dataclass
class LoggedRequest:
    """One HTTP request the server received."""

    method: str
    path: str
    host: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    def text(self) -> str:
        """Every text in the request's messages, tool results included, joined."""
        return "\n".join(_all_texts(self.body or {}))


@dataclass
class Reply:
    """What the assistant says next: some text, and optionally one tool call."""

    text: str
    tool: tuple[str, dict[str, Any]] | None = None
    hang: bool = False


def _all_texts(body: dict[str, Any]) -> Iterator[str]:
    for msg in body.get("messages") or []:
        content = msg.get("content")
        if isinstance(content, str):
            yield content
            continue
        for block in content or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                yield str(block.get("text", ""))
            elif block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, str):
                    yield inner
                elif isinstance(inner, list):
                    yield from (str(b.get("text", "")) for b in inner if isinstance(b, dict))


def _directives(message: dict[str, Any]) -> list[str]:
    """The ``SCRIPT:`` lines in a user message's own text (not inside tool results)."""
    content = message.get("content")
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        texts.extend(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    out: list[str] = []
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith(DIRECTIVE):
                out.append(line[len(DIRECTIVE) :].strip())
    return out


def _tool_uses(message: dict[str, Any]) -> int:
    content = message.get("content")
    if not isinstance(content, list):
        return 0
    return sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_use")


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n")


def path_word(path: object) -> str:
    """``path`` as a directive's ``<path>``: a JSON string when it holds a space."""
    text = str(path)
    return json.dumps(text) if " " in text or text.startswith('"') else text


def _path_and_rest(rest: str) -> tuple[str, str]:
    """A directive's ``<path>`` (a JSON string, or up to the first space) and what follows it."""
    if rest.startswith('"'):
        path, end = json.JSONDecoder().raw_decode(rest)
        return str(path), rest[end:].removeprefix(" ")
    path, _, after = rest.partition(" ")
    return path, after


def _tool_for(directive: str) -> Reply | None:
    """The reply for one tool directive; None for ``answer``."""
    verb, _, rest = directive.partition(" ")
    verb = verb.lower()
    if verb == "write":
        path, text = _path_and_rest(rest)
        return Reply(f"Writing {path}.", ("Write", {"file_path": path, "content": _unescape(text)}))
    if verb == "edit":
        path, change = _path_and_rest(rest)
        old, _, new = change.partition(" => ")
        return Reply(
            f"Editing {path}.",
            ("Edit", {"file_path": path, "old_string": _unescape(old), "new_string": _unescape(new)}),
        )
    if verb == "bash":
        return Reply(f"Running {rest}.", ("Bash", {"command": rest, "description": "scripted"}))
    if verb == "read":
        path, _ = _path_and_rest(rest)
        return Reply(f"Reading {path}.", ("Read", {"file_path": path}))
    if verb == "loop":
        return Reply("Once more.", ("Bash", {"command": "true", "description": "loop"}))
    if verb == "hang":
        return Reply("", hang=True)
    return None


Playbook = Callable[[str], "list[str] | None"]


def _own_text(message: dict[str, Any]) -> str:
    """A user message's own text (tool results left out)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    blocks = content if isinstance(content, list) else []
    return "\n".join(str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text")


def decide(body: dict[str, Any], playbook: Playbook | None = None) -> Reply:
    """The next reply for a request body, from the script in its latest prompt (or the playbook's)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    start = None
    script: list[str] = []
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            found = _directives(messages[i]) or (playbook(_own_text(messages[i])) if playbook else None) or []
            if found:
                start, script = i, found
                break
    if start is None:
        return Reply("ok")  # a side request (title, summary, ...): a short answer
    done = sum(_tool_uses(m) for m in messages[start + 1 :] if m.get("role") == "assistant")
    tool_steps = [d for d in script if not d.lower().startswith("answer")]
    answers = [d.partition(" ")[2] for d in script if d.lower().startswith("answer")]
    if any(d.lower() == "loop" for d in tool_steps):
        reply = _tool_for("loop")
        assert reply is not None
        return reply
    if done < len(tool_steps):
        reply = _tool_for(tool_steps[done])
        if reply is not None:
            return reply
    return Reply(_unescape(answers[-1]) if answers else "done")


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _usage(output: int = OUTPUT_TOKENS) -> dict[str, Any]:
    return {
        "input_tokens": INPUT_TOKENS,
        "output_tokens": output,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    if reply.tool is not None:
        name, tool_input = reply.tool
        blocks.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": tool_input})
    return blocks


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the log is ``ScriptedAPI.requests``."""

    def _log(self, body: dict[str, Any] | None) -> None:
        entry = LoggedRequest(
            method=self.command,
            path=self.path,
            host=self.headers.get("Host", ""),
            headers={k: v for k, v in self.headers.items()},
            body=body,
        )
        with self.server.lock:
            self.server.log.append(entry)

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._log(None)
        self._empty(200)

    def do_CONNECT(self) -> None:
        """A proxy tunnel request: logged and refused (the trap proxy in the tests uses this)."""
        self._log(None)
        self._empty(403)

    def do_GET(self) -> None:
        self._log(None)
        self._empty(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        self._log(body)
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            if "count_tokens" in self.path:
                self._json({"input_tokens": INPUT_TOKENS})
            else:
                self._empty(404)
            return
        reply = decide(body, self.server.playbook)
        if reply.hang:
            self.server.stopping.wait(HANG_LIMIT_S)
            self.close_connection = True
            return
        blocks = _blocks(reply)
        stop = "tool_use" if reply.tool else "end_turn"
        model = str(body.get("model") or "claude-sonnet-4-5")
        msg_id = f"msg_{uuid.uuid4().hex[:24]}"
        if not body.get("stream"):
            self._json(
                {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": _usage(),
                }
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        out = [
            _sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": msg_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": _usage(output=1),
                    },
                },
            )
        ]
        for index, block in enumerate(blocks):
            start: dict[str, Any]
            delta: dict[str, Any]
            if block["type"] == "text":
                start = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": block["text"]}
            else:
                start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            out.append(
                _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            )
            out.append(_sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        out.append(
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": OUTPUT_TOKENS},
                },
            )
        )
        out.append(_sse("message_stop", {"type": "message_stop"}))
        self.wfile.write(b"".join(out))
        self.wfile.flush()
        self.close_connection = True

    def _json(self, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.log: list[LoggedRequest] = []
        self.stopping = threading.Event()
        self.playbook: Playbook | None = None


@dataclass
class ScriptedAPI:
    """The server, running in a thread on 127.0.0.1 at a free port until ``stop()``."""

    _server: _Server = field(default_factory=_Server)
    _thread: threading.Thread | None = None

    def start(self) -> ScriptedAPI:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._server.lock:
            return list(self._server.log)

    def use_playbook(self, playbook: Playbook | None) -> None:
        """Answer prompts without ``SCRIPT:`` lines with ``playbook(prompt text)``'s directives."""
        self._server.playbook = playbook

    def clear(self) -> None:
        with self._server.lock:
            self._server.log.clear()

    def __enter__(self) -> ScriptedAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def quiet_env(base_url: str, home: str, *, proxy: str | None = None) -> dict[str, str]:
    """The environment that keeps the CLI on loopback (see shared/facts/claude-code.md).

    ``home`` is a private temporary folder: HOME, the CLI's temp dir and XDG_RUNTIME_DIR go in it.
    With ``proxy``, any other HTTP(S) connection the CLI tried would go to that address instead.
    """
    env = {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "dummy",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "HOME": home,
        "CLAUDE_CODE_TMPDIR": f"{home}/tmp",
        "XDG_RUNTIME_DIR": f"{home}/run",
    }
    if proxy:
        env.update(
            {
                "HTTPS_PROXY": proxy,
                "HTTP_PROXY": proxy,
                "https_proxy": proxy,
                "http_proxy": proxy,
                "NO_PROXY": "127.0.0.1",
                "no_proxy": "127.0.0.1",
            }
        )
    return env


def script(*lines: str) -> str:
    """A prompt made of directive lines: ``script("write a.txt hi", "answer ok")``."""
    return "\n".join(f"{DIRECTIVE} {line}" for line in lines)


__all__ = ["LoggedRequest", "Reply", "ScriptedAPI", "decide", "quiet_env", "script"]

"""``specflow ui [--port N] [--host H] [--no-open]``: the live dashboard of the hub, in a browser."""

from __future__ import annotations

import argparse
import webbrowser

from specflow.cli.context import CliContext
from specflow.errors import SpecflowError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8765, metavar="N", help="the port (default 8765; 0: any free one)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="H",
        help="the address to serve on (default 127.0.0.1; any other needs the token on every request)",
    )
    p.add_argument("--no-open", action="store_true", help="do not open a browser")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        from specflow.ui.server import serve
    except ImportError as exc:
        raise SpecflowError(
            f"the dashboard's dependencies are not installed ({exc.name} is missing)",
            fix="pip install 'specflow[ui]'",
        ) from None
    hub = ctx.open_hub()

    def ready(address: object) -> None:
        url = str(getattr(address, "url", ""))
        ctx.out(f"specflow ui: serving {hub.root}")
        ctx.out(f"  open {url}")
        ctx.out("  Ctrl-C stops the server; phases started from the page keep running")
        if not args.no_open:
            webbrowser.open(url)

    serve(hub, args.host, args.port, on_ready=ready)
    return 0

"""The dashboard, ``specflow ui``: a board of every change, each change's page, live progress.

The board and the timeline it shows are plain data (standard library only, in
``specflow.engine.board`` and ``specflow.engine.timeline``) that any tool can use through
``Hub.board()`` and ``Change.timeline()``; ``app`` (with ``access``, who may use it, and
``buttons``, what its actions do) and ``server`` are the web app (Starlette and uvicorn, the
optional extra ``ui``), imported only by the ``ui`` command.
"""

"""A real uvicorn on a free loopback port, serving an app built in the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest


@pytest.fixture
def live_server() -> Callable[[Any], AbstractContextManager[str]]:
    """live_server(app) is a context manager giving the URL of uvicorn serving ``app``."""
    import uvicorn

    from core.serving.deployments import free_port

    @contextmanager
    def serve(app: Any) -> Iterator[str]:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(30)

    return serve

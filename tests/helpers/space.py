"""The Space (``gradio_app.demo``) launched in this process for the gradio_client tests: one helper for
every module's fixture, so each launches it the same way."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.browser import free_port
from tests.helpers.tiny_models import tiny_space_env


@contextlib.contextmanager
def running_space(folder: Path, env: dict[str, str] | None = None, limits: bool = False,
                  image: bool = False) -> Iterator[str]:
    """``gradio_app.demo`` on a free port with the tiny models (:func:`tiny_space_env`) saved in ``folder``;
    yields its URL and closes it afterwards (the environment and the loaded models are restored).

    Args:
        folder: where the models, the label store and the request folders go.
        env: more environment variables, set while the Space runs.
        limits: launch with :func:`gradio_app.launch_options` (upload limits), as ``python gradio_app.py`` does.
        image: the random-weight CNN beside the landmark model.
    """
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**tiny_space_env(folder, image=image), **(env or {})}.items():
            patch.setenv(key, value)
        import gradio_app

        gradio_app.reset_models()
        port = free_port()
        options = gradio_app.launch_options() if limits else {}
        gradio_app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                               **options)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            gradio_app.demo.close()
            gradio_app.reset_models()


def space_client(url: str):
    """A ``gradio_client.Client`` of a running Space (its own session: its own state)."""
    from gradio_client import Client

    return Client(url, verbose=False)

"""How meshctl reaches the control plane's REST API, and how it reports API errors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer

DEFAULT_URL = "http://127.0.0.1:5681"


@dataclass(frozen=True)
class Api:
    url: str
    token: str

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def get(self, path: str) -> Any:
        with self.client() as client:
            return checked(client.get(path)).json()

    def post_text(self, path: str, body: dict[str, Any]) -> str:
        with self.client() as client:
            return checked(client.post(path, json=body)).text


def checked(response: httpx.Response) -> httpx.Response:
    """The response if it succeeded; otherwise exit with the API's own explanation."""
    if response.is_success:
        return response
    try:
        problem = response.json()
        detail = problem.get("detail") or problem.get("title")
        reasons = [f"{p['field']}: {p['reason']}" for p in problem.get("invalid_parameters", [])]
        message = "; ".join([detail, *reasons])
    except ValueError:
        message = response.text
    typer.echo(f"Error: {message} (HTTP {response.status_code})", err=True)
    raise typer.Exit(1)


def api_from(url: str | None, token: str | None, token_file: Path | None) -> Api:
    """Flags first, then MESHCTL_API_URL / MESHCTL_TOKEN."""
    if token is None and token_file is not None:
        token = token_file.read_text().strip()
    return Api(
        url=(url or os.environ.get("MESHCTL_API_URL") or DEFAULT_URL).rstrip("/"),
        token=token or os.environ.get("MESHCTL_TOKEN", ""),
    )

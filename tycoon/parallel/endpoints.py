"""Where an episode's model calls go: sticky routing over several base URLs, and one
client per endpoint with a cap on its requests in flight.

Routing is rendezvous hashing of the episode's key over the URLs: the same episode always
reaches the same replica (whose prefix cache holds its conversation), also when it is
resumed on another actor, and adding or removing a URL moves only the episodes whose
replica changed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tycoon.agents.llm.settings import LlmSettings


def sticky_url(base_urls: list[str], key: str) -> str:
    """The URL with the highest hash weight for `key` (rendezvous hashing)."""
    if not base_urls:
        raise ValueError("Expected at least one base URL, got none")

    def weight(url: str) -> bytes:
        return hashlib.blake2b(f"{url}\0{key}".encode(), digest_size=8).digest()

    return max(base_urls, key=weight)


class EndpointClients:
    """One `ChatClient` per endpoint settings in this process, made on first use.

    `max_in_flight` caps the requests this process has in flight at each endpoint
    (None: no cap); a trainer spreading a cap over A actors gives each cap / A.
    """

    def __init__(self, max_in_flight: int | None = None) -> None:
        self.max_in_flight = max_in_flight
        self._clients: dict[LlmSettings, Any] = {}

    def client(self, settings: LlmSettings) -> Any:
        client = self._clients.get(settings)
        if client is None:
            from tycoon.agents.llm import ChatClient

            client = self._clients[settings] = ChatClient(
                settings, max_in_flight=self.max_in_flight
            )
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

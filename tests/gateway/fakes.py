"""A stand-in for Supabase's hosted HTTP services: records requests, answers from a queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

URL = "https://proj.supabase.co"
ANON_KEY = "anon-key"
SERVICE_KEY = "service-role-key"
USER_ID = "6b1f8a8e-4a57-4a0e-9a8e-3c3b1a9f0c11"
USER_TOKEN = "user-access-token"

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeSupabase:
    """Records each request and answers with the queued replies (default: 200 `[]`)."""

    requests: list[httpx.Request] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def reply(self, status: int = 200, body: Any = None, **kw: Any) -> None:
        self.replies.append(httpx.Response(status, json=body, **kw))

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            return httpx.Response(200, json=[])
        reply = self.replies.pop(0)
        return reply(request) if callable(reply) else reply

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)

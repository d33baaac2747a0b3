"""The service API: one object per caller and request, with a service per domain.

    services = Services(gateway.session(caller), limiter)
    lesson = services.lessons.create(client_ids=[...], start_time=..., lesson_type_id=...)

`AsyncServices` is the same API for asyncio code.
"""

from __future__ import annotations

from backend.gateway.base import AsyncSession, Caller, Session
from backend.services.base import Limiter
from backend.services.clients import AsyncClientService, ClientService
from backend.services.coaches import AsyncCoachService, CoachService
from backend.services.lesson_types import AsyncLessonTypeService, LessonTypeService
from backend.services.lessons import AsyncLessonService, LessonService
from backend.services.payments import AsyncPaymentService, PaymentService
from backend.services.reads import AsyncReadService, ReadService

__all__ = ["AsyncServices", "Limiter", "Services"]


class Services:
    """Every domain service, bound to one caller-bound session."""

    def __init__(self, session: Session, limiter: Limiter | None = None) -> None:
        self.session = session
        self.coaches = CoachService(session, limiter)
        self.clients = ClientService(session, limiter)
        self.lesson_types = LessonTypeService(session, limiter)
        self.lessons = LessonService(session, limiter)
        self.payments = PaymentService(session, limiter)
        self.reads = ReadService(session, limiter)

    @property
    def caller(self) -> Caller:
        return self.session.caller


class AsyncServices:
    def __init__(self, session: AsyncSession, limiter: Limiter | None = None) -> None:
        self.session = session
        self.coaches = AsyncCoachService(session, limiter)
        self.clients = AsyncClientService(session, limiter)
        self.lesson_types = AsyncLessonTypeService(session, limiter)
        self.lessons = AsyncLessonService(session, limiter)
        self.payments = AsyncPaymentService(session, limiter)
        self.reads = AsyncReadService(session, limiter)

    @property
    def caller(self) -> Caller:
        return self.session.caller

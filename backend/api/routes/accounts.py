"""Sign-in, sign-up and sign-out through Supabase Auth, under the auth limit per IP and e-mail."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from backend.api.deps import IdempotencyKey, State, bearer, caller_ip, write
from backend.api.problems import PROBLEM_RESPONSES
from backend.errors import Unauthenticated
from backend.models import Input

router = APIRouter(prefix="/auth", tags=["auth"], responses=PROBLEM_RESPONSES)


class SignIn(Input):
    email: str = Field(max_length=320)
    password: str = Field(min_length=1, max_length=1000)


class SignUp(SignIn):
    full_name: str | None = Field(default=None, max_length=200)


class Session(BaseModel):
    user_id: UUID
    access_token: str
    refresh_token: str
    expires_at: int | None


class SignedUp(BaseModel):
    user_id: UUID | None


@router.post("/sign-in")
def sign_in(body: SignIn, request: Request, state: State) -> Session:
    signed = state.backend.accounts().sign_in(
        body.email, body.password, ip=caller_ip(request, state)
    )
    return Session(
        user_id=signed.user_id,
        access_token=signed.access_token,
        refresh_token=signed.refresh_token,
        expires_at=signed.expires_at,
    )


@router.post("/sign-up", status_code=status.HTTP_201_CREATED)
def sign_up(body: SignUp, request: Request, state: State, key: IdempotencyKey) -> SignedUp:
    accounts = state.backend.accounts()
    user_id = write(
        lambda _key: accounts.sign_up(
            body.email, body.password, ip=caller_ip(request, state), full_name=body.full_name
        ),
        key,
    )
    return SignedUp(user_id=user_id)


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    if credentials is None:
        raise Unauthenticated("send the access token to sign out")
    state.backend.authenticate(f"Bearer {credentials.credentials}")
    state.backend.accounts().sign_out(credentials.credentials)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Request and response bodies of the accounts routes. JSON field names are the seed's column names."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NewApiKey(BaseModel):
    description: str = Field("", max_length=200)


class ApiKey(BaseModel):
    id: str
    visible: str
    description: str
    enabled: bool
    createdAt: datetime


class CreatedApiKey(ApiKey):
    key: str = Field(description="the plaintext key: shown this once, never stored")


class NewReview(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    content: str | None = Field(None, max_length=20_000)


class Review(BaseModel):
    id: str
    title: str
    content: str | None
    published: bool
    authorId: str
    author: str | None = None
    createdAt: datetime
    updatedAt: datetime


class SessionUser(BaseModel):
    id: str
    username: str | None
    name: str | None
    image: str | None
    role: str


class SessionInfo(BaseModel):
    user: SessionUser
    expiresAt: datetime


class UserState(BaseModel):
    id: str
    username: str | None
    role: str
    banned: bool

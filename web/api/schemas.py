"""The API's resources (pydantic), shaped after Wazo's services: agentd for operators
(``logged``, ``paused``, ``paused_reason``), call-logd for the call history
(``items``/``filtered``/``total``, ``start``/``end``/``answered``/``duration``) and its queue
statistics (``received``, ``answered``, ``abandoned``, ``average_waiting_time``,
``quality_of_service``). Times are UTC, ISO 8601."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    error: str = Field(description="a stable id, e.g. web.forbidden")
    message: str


class Customer(BaseModel):
    code: str
    name: str
    address: str
    district_company: str
    district_company_name: str
    area: str
    feeder: str
    tariff: str


class CustomerList(BaseModel):
    items: list[Customer]
    total: int


class Call(BaseModel):
    id: str = Field(description="Asterisk's unique id of the caller's channel")
    start: datetime
    end: datetime | None
    answered: bool = Field(description="an operator took the call")
    duration: float | None = Field(description="seconds from start to end")
    source_number: str
    customer_code: str | None
    outcome: str
    queue_status: str | None
    queue_wait: float | None
    operator: str | None
    wrap_up_code: str | None
    path: list[dict[str, Any]]


class CallList(BaseModel):
    items: list[Call]
    filtered: int
    total: int


class NewRequest(BaseModel):
    type: str = Field(description="hazard, outage_report, billing_complaint, meter_check, "
                                  "new_connection or advice")
    customer_code: str | None = Field(None, max_length=20)
    caller_number: str | None = Field(None, max_length=32)
    description: str = Field("", max_length=2000)
    channel: Literal["website", "sms", "email", "desk", "phone"] = "website"


class RequestCreated(BaseModel):
    number: str
    deadline_at: datetime
    forwarded: bool
    priority: int


class RequestChange(BaseModel):
    at: datetime
    status: str
    actor: str
    note: str
    escalation_level: int


class Request(BaseModel):
    number: str
    type: str
    status: str
    created_at: datetime
    deadline_at: datetime
    overdue_by: float = Field(description="seconds past the deadline (negative: time left)")
    escalation_level: int
    priority: int
    description: str
    caller_number: str
    customer_code: str | None
    customer_name: str | None
    customer_address: str | None
    district_company: str | None
    district_company_name: str | None
    changes: list[RequestChange] | None = None
    calls: list[str] | None = None


class RequestList(BaseModel):
    items: list[Request]
    filtered: int


class StatusChange(BaseModel):
    status: str
    note: str = Field("", max_length=2000)


class QueueStatistics(BaseModel):
    queue_name: str
    received: int
    answered: int
    abandoned: int
    overflowed: int
    average_waiting_time: float | None
    longest_waiting_time: float | None
    answered_rate: float | None
    quality_of_service: float | None = Field(description="answered within 20 s, of answered")


class QueueStatisticsList(BaseModel):
    items: list[QueueStatistics]
    total: int
    waiting: int


class Agent(BaseModel):
    id: str
    name: str
    logged: bool
    paused: bool
    paused_reason: str | None
    state: str
    state_since: float
    call_id: str | None
    skills: dict[str, int]


class Pause(BaseModel):
    reason: str = Field("1", description="1 break, 2 meal, 3 training, 4 other")


class WrapUp(BaseModel):
    code: str = Field(pattern=r"^[0-9]{1,8}$")

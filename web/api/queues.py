"""``/queues/statistics``: per queue (skill) since the statistics began, as the ACD counts them
in Redis (call-logd's queue statistics)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ..auth import Principal, context, require
from ..permissions import Permission
from .schemas import QueueStatistics, QueueStatisticsList

router = APIRouter(tags=["queues"])
Reader = Annotated[Principal, Depends(require(Permission.QUEUES_READ))]


@router.get("/queues/statistics", response_model=QueueStatisticsList)
async def queue_statistics(request: Request, who: Reader) -> QueueStatisticsList:
    live = context(request).live
    stats = await live.stats()
    items = []
    for skill, row in sorted(stats["skills"].items()):
        offered, answered = int(row.get("offered", 0)), int(row.get("answered", 0))
        items.append(QueueStatistics(
            queue_name=skill, received=offered, answered=answered,
            abandoned=int(row.get("abandoned", 0)), overflowed=int(row.get("overflow", 0)),
            average_waiting_time=row.get("wait_sum", 0) / answered if answered else None,
            longest_waiting_time=row.get("wait_max"),
            answered_rate=answered / offered if offered else None,
            quality_of_service=row.get("answered_in_sl", 0) / answered if answered else None))
    return QueueStatisticsList(items=items, total=len(items),
                               waiting=await live.waiting_count())

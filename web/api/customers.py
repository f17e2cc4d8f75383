"""``/customers``: find a customer by code, phone number or the start of the name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from records import lookups
from records.results import CustomerInfo, Found, Invalid

from ..auth import Principal, context, require
from ..permissions import Permission
from .schemas import Customer, CustomerList

router = APIRouter(tags=["customers"])
Reader = Annotated[Principal, Depends(require(Permission.CUSTOMERS_READ))]


def customer(info: CustomerInfo) -> Customer:
    return Customer(code=info.code, name=info.name, address=info.address,
                    district_company=info.district_company_code,
                    district_company_name=info.district_company_name, area=info.area,
                    feeder=info.feeder, tariff=info.tariff)


@router.get("/customers", response_model=CustomerList)
async def find_customers(request: Request, who: Reader,
                         search: str = Query(min_length=2, max_length=128,
                                             description="code, phone number or name start"),
                         ) -> CustomerList:
    found = await context(request).records.run(lambda s: lookups.find_customers(s, search))
    if isinstance(found, Invalid):
        raise HTTPException(422, str(found))
    return CustomerList(items=[customer(c) for c in found], total=len(found))


@router.get("/customers/{code}", response_model=Customer)
async def get_customer(request: Request, who: Reader, code: str) -> Customer:
    found = await context(request).records.run(lambda s: lookups.customer_by_code(s, code))
    if isinstance(found, Invalid):
        raise HTTPException(422, str(found))
    if not isinstance(found, Found):
        raise HTTPException(404, f"no customer {code}")
    return customer(found.value)

"""``/customers``: find a customer by code, phone number or the start of the name."""

from __future__ import annotations

from typing import Annotated, Any

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
    def find(session: Any) -> tuple[CustomerInfo, ...] | Invalid:
        if not isinstance(lookups.customer_code(search), Invalid):
            one = lookups.customer_by_code(session, search)
            return (one.value,) if isinstance(one, Found) else ()
        if not isinstance(lookups.phone_number(search), Invalid):
            many = lookups.customers_by_phone(session, search)
            return many.value if isinstance(many, Found) else ()
        named = lookups.customers_by_name(session, search)
        if isinstance(named, Invalid):
            return named
        return named.value if isinstance(named, Found) else ()

    found = await context(request).records.run(find)
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

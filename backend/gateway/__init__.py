"""Two gateways, one interface: the direct PostgreSQL gateway and the Supabase (PostgREST) one."""

from backend.gateway.base import (
    AsyncGateway,
    AsyncSession,
    Caller,
    Delete,
    Filter,
    Gateway,
    Insert,
    Order,
    Request,
    Rpc,
    Select,
    Session,
    Update,
)

__all__ = [
    "AsyncGateway",
    "AsyncSession",
    "Caller",
    "Delete",
    "Filter",
    "Gateway",
    "Insert",
    "Order",
    "Request",
    "Rpc",
    "Select",
    "Session",
    "Update",
]

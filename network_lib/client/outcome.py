"""What one status poll means, per SDK generation (sdk-network-contract.md §5.7, §5.8, §6.1)."""

from __future__ import annotations

from enum import Enum

from network_lib.client.errors import (
    ProtocolError,
    RequestExpired,
    RequestFailed,
    RequestReverted,
    RequestTimedOut,
    RequestUnexecutable,
    RequestUnfulfillable,
)
from network_lib.client.profiles import OutcomeOrder, Profile
from network_lib.proto import network_pb2 as pb

FULFILLED = pb.FULFILLED
UNFULFILLABLE = pb.UNFULFILLABLE
UNEXECUTABLE = pb.UNEXECUTABLE


class Verdict(Enum):
    PENDING = "pending"
    FULFILLED = "fulfilled"
    TIMED_OUT = "timed out"
    UNEXECUTABLE = "unexecutable"
    UNFULFILLABLE = "unfulfillable"
    REVERTED = "reverted"
    EXPIRED = "expired"


VERDICT_ERRORS: dict[Verdict, type[RequestFailed]] = {
    Verdict.TIMED_OUT: RequestTimedOut,
    Verdict.UNEXECUTABLE: RequestUnexecutable,
    Verdict.UNFULFILLABLE: RequestUnfulfillable,
    Verdict.REVERTED: RequestReverted,
    Verdict.EXPIRED: RequestExpired,
}


def check_status_enums(profile: Profile, fulfillment: int, execution: int) -> None:
    """Reject values the SDK cannot parse: execution outside 0-3 panics it (§5.7),
    fulfillment outside 0-4 (0-6 for 6.4.0) aborts the wait (§5.8)."""
    if not 0 <= execution <= 3:
        raise ProtocolError(f"invalid execution status {execution} (sp1-sdk would panic)")
    if not 0 <= fulfillment <= profile.max_fulfillment_status:
        raise ProtocolError(f"invalid fulfillment status {fulfillment}")


def decide(order: OutcomeOrder, fulfillment: int, execution: int, deadline: int, now: int) -> Verdict:
    """§6.1: the outcome of one successful poll; ``now`` is the client's unix time."""
    if order is OutcomeOrder.DEADLINE_FIRST:
        return _deadline_first(fulfillment, execution, now > deadline)
    return _fulfilled_first(order, fulfillment, execution, now > deadline)


def _deadline_first(fulfillment: int, execution: int, timed_out: bool) -> Verdict:
    if timed_out:  # even when FULFILLED: the downloaded proof is discarded
        return Verdict.TIMED_OUT
    if execution == UNEXECUTABLE:
        return Verdict.UNEXECUTABLE
    if fulfillment == FULFILLED:
        return Verdict.FULFILLED
    if fulfillment == UNFULFILLABLE:
        return Verdict.UNFULFILLABLE
    return Verdict.PENDING


def _fulfilled_first(order: OutcomeOrder, fulfillment: int, execution: int, timed_out: bool) -> Verdict:
    if fulfillment == FULFILLED:
        return Verdict.FULFILLED
    if execution == UNEXECUTABLE:
        return Verdict.UNEXECUTABLE
    if fulfillment == UNFULFILLABLE:
        return Verdict.UNFULFILLABLE
    if order is OutcomeOrder.V6_4 and fulfillment == pb.REVERTED:
        return Verdict.REVERTED
    if order is OutcomeOrder.V6_4 and fulfillment == pb.EXPIRED:
        return Verdict.EXPIRED
    return Verdict.TIMED_OUT if timed_out else Verdict.PENDING

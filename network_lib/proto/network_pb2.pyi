from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_MESSAGE_FORMAT: _ClassVar[MessageFormat]
    BINARY: _ClassVar[MessageFormat]
    JSON: _ClassVar[MessageFormat]

class ProofMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_PROOF_MODE: _ClassVar[ProofMode]
    CORE: _ClassVar[ProofMode]
    COMPRESSED: _ClassVar[ProofMode]
    PLONK: _ClassVar[ProofMode]
    GROTH16: _ClassVar[ProofMode]

class FulfillmentStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_FULFILLMENT_STRATEGY: _ClassVar[FulfillmentStrategy]
    HOSTED: _ClassVar[FulfillmentStrategy]
    RESERVED: _ClassVar[FulfillmentStrategy]
    AUCTION: _ClassVar[FulfillmentStrategy]

class FulfillmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_FULFILLMENT_STATUS: _ClassVar[FulfillmentStatus]
    REQUESTED: _ClassVar[FulfillmentStatus]
    ASSIGNED: _ClassVar[FulfillmentStatus]
    FULFILLED: _ClassVar[FulfillmentStatus]
    UNFULFILLABLE: _ClassVar[FulfillmentStatus]
    REVERTED: _ClassVar[FulfillmentStatus]
    EXPIRED: _ClassVar[FulfillmentStatus]

class ExecutionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_EXECUTION_STATUS: _ClassVar[ExecutionStatus]
    UNEXECUTED: _ClassVar[ExecutionStatus]
    EXECUTED: _ClassVar[ExecutionStatus]
    UNEXECUTABLE: _ClassVar[ExecutionStatus]

class ExecuteFailureCause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_EXECUTION_FAILURE_CAUSE: _ClassVar[ExecuteFailureCause]
    HALT_WITH_NON_ZERO_EXIT_CODE: _ClassVar[ExecuteFailureCause]
    INVALID_MEMORY_ACCESS: _ClassVar[ExecuteFailureCause]
    UNSUPPORTED_SYSCALL: _ClassVar[ExecuteFailureCause]
    BREAKPOINT: _ClassVar[ExecuteFailureCause]
    EXCEEDED_CYCLE_LIMIT: _ClassVar[ExecuteFailureCause]
    INVALID_SYSCALL_USAGE: _ClassVar[ExecuteFailureCause]
    UNIMPLEMENTED: _ClassVar[ExecuteFailureCause]
    END_IN_UNCONSTRAINED: _ClassVar[ExecuteFailureCause]

class SettlementStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_SETTLEMENT_STATUS: _ClassVar[SettlementStatus]
    UNSETTLED: _ClassVar[SettlementStatus]
    SETTLED: _ClassVar[SettlementStatus]

class ProofRequestError(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_PROOF_REQUEST_FAILURE: _ClassVar[ProofRequestError]
    EXECUTION_FAILURE: _ClassVar[ProofRequestError]
    VERIFICATION_KEY_MISMATCH: _ClassVar[ProofRequestError]
    UNKNOWN_FAILURE: _ClassVar[ProofRequestError]
UNSPECIFIED_MESSAGE_FORMAT: MessageFormat
BINARY: MessageFormat
JSON: MessageFormat
UNSPECIFIED_PROOF_MODE: ProofMode
CORE: ProofMode
COMPRESSED: ProofMode
PLONK: ProofMode
GROTH16: ProofMode
UNSPECIFIED_FULFILLMENT_STRATEGY: FulfillmentStrategy
HOSTED: FulfillmentStrategy
RESERVED: FulfillmentStrategy
AUCTION: FulfillmentStrategy
UNSPECIFIED_FULFILLMENT_STATUS: FulfillmentStatus
REQUESTED: FulfillmentStatus
ASSIGNED: FulfillmentStatus
FULFILLED: FulfillmentStatus
UNFULFILLABLE: FulfillmentStatus
REVERTED: FulfillmentStatus
EXPIRED: FulfillmentStatus
UNSPECIFIED_EXECUTION_STATUS: ExecutionStatus
UNEXECUTED: ExecutionStatus
EXECUTED: ExecutionStatus
UNEXECUTABLE: ExecutionStatus
UNSPECIFIED_EXECUTION_FAILURE_CAUSE: ExecuteFailureCause
HALT_WITH_NON_ZERO_EXIT_CODE: ExecuteFailureCause
INVALID_MEMORY_ACCESS: ExecuteFailureCause
UNSUPPORTED_SYSCALL: ExecuteFailureCause
BREAKPOINT: ExecuteFailureCause
EXCEEDED_CYCLE_LIMIT: ExecuteFailureCause
INVALID_SYSCALL_USAGE: ExecuteFailureCause
UNIMPLEMENTED: ExecuteFailureCause
END_IN_UNCONSTRAINED: ExecuteFailureCause
UNSPECIFIED_SETTLEMENT_STATUS: SettlementStatus
UNSETTLED: SettlementStatus
SETTLED: SettlementStatus
UNSPECIFIED_PROOF_REQUEST_FAILURE: ProofRequestError
EXECUTION_FAILURE: ProofRequestError
VERIFICATION_KEY_MISMATCH: ProofRequestError
UNKNOWN_FAILURE: ProofRequestError

class Program(_message.Message):
    __slots__ = ("vk_hash", "vk", "program_uri", "name", "owner", "created_at")
    VK_HASH_FIELD_NUMBER: _ClassVar[int]
    VK_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_URI_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    vk_hash: bytes
    vk: bytes
    program_uri: str
    name: str
    owner: bytes
    created_at: int
    def __init__(self, vk_hash: _Optional[bytes] = ..., vk: _Optional[bytes] = ..., program_uri: _Optional[str] = ..., name: _Optional[str] = ..., owner: _Optional[bytes] = ..., created_at: _Optional[int] = ...) -> None: ...

class GetProgramRequest(_message.Message):
    __slots__ = ("vk_hash",)
    VK_HASH_FIELD_NUMBER: _ClassVar[int]
    vk_hash: bytes
    def __init__(self, vk_hash: _Optional[bytes] = ...) -> None: ...

class GetProgramResponse(_message.Message):
    __slots__ = ("program",)
    PROGRAM_FIELD_NUMBER: _ClassVar[int]
    program: Program
    def __init__(self, program: _Optional[_Union[Program, _Mapping]] = ...) -> None: ...

class CreateProgramRequest(_message.Message):
    __slots__ = ("format", "signature", "body")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    format: MessageFormat
    signature: bytes
    body: CreateProgramRequestBody
    def __init__(self, format: _Optional[_Union[MessageFormat, str]] = ..., signature: _Optional[bytes] = ..., body: _Optional[_Union[CreateProgramRequestBody, _Mapping]] = ...) -> None: ...

class CreateProgramRequestBody(_message.Message):
    __slots__ = ("nonce", "vk_hash", "vk", "program_uri")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    VK_HASH_FIELD_NUMBER: _ClassVar[int]
    VK_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_URI_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    vk_hash: bytes
    vk: bytes
    program_uri: str
    def __init__(self, nonce: _Optional[int] = ..., vk_hash: _Optional[bytes] = ..., vk: _Optional[bytes] = ..., program_uri: _Optional[str] = ...) -> None: ...

class CreateProgramResponse(_message.Message):
    __slots__ = ("tx_hash", "body")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    body: CreateProgramResponseBody
    def __init__(self, tx_hash: _Optional[bytes] = ..., body: _Optional[_Union[CreateProgramResponseBody, _Mapping]] = ...) -> None: ...

class CreateProgramResponseBody(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetNonceRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    def __init__(self, address: _Optional[bytes] = ...) -> None: ...

class GetNonceResponse(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    def __init__(self, address: _Optional[bytes] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("amount",)
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    amount: str
    def __init__(self, amount: _Optional[str] = ...) -> None: ...

class RequestProofRequest(_message.Message):
    __slots__ = ("format", "signature", "body")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    format: MessageFormat
    signature: bytes
    body: RequestProofRequestBody
    def __init__(self, format: _Optional[_Union[MessageFormat, str]] = ..., signature: _Optional[bytes] = ..., body: _Optional[_Union[RequestProofRequestBody, _Mapping]] = ...) -> None: ...

class RequestProofRequestBody(_message.Message):
    __slots__ = ("nonce", "vk_hash", "version", "mode", "strategy", "stdin_uri", "deadline", "cycle_limit", "gas_limit", "min_auction_period", "whitelist", "stdin_private")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    VK_HASH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    STDIN_URI_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    CYCLE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    GAS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_AUCTION_PERIOD_FIELD_NUMBER: _ClassVar[int]
    WHITELIST_FIELD_NUMBER: _ClassVar[int]
    STDIN_PRIVATE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    vk_hash: bytes
    version: str
    mode: ProofMode
    strategy: FulfillmentStrategy
    stdin_uri: str
    deadline: int
    cycle_limit: int
    gas_limit: int
    min_auction_period: int
    whitelist: _containers.RepeatedScalarFieldContainer[bytes]
    stdin_private: bool
    def __init__(self, nonce: _Optional[int] = ..., vk_hash: _Optional[bytes] = ..., version: _Optional[str] = ..., mode: _Optional[_Union[ProofMode, str]] = ..., strategy: _Optional[_Union[FulfillmentStrategy, str]] = ..., stdin_uri: _Optional[str] = ..., deadline: _Optional[int] = ..., cycle_limit: _Optional[int] = ..., gas_limit: _Optional[int] = ..., min_auction_period: _Optional[int] = ..., whitelist: _Optional[_Iterable[bytes]] = ..., stdin_private: _Optional[bool] = ...) -> None: ...

class RequestProofResponse(_message.Message):
    __slots__ = ("tx_hash", "body")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    body: RequestProofResponseBody
    def __init__(self, tx_hash: _Optional[bytes] = ..., body: _Optional[_Union[RequestProofResponseBody, _Mapping]] = ...) -> None: ...

class RequestProofResponseBody(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    def __init__(self, request_id: _Optional[bytes] = ...) -> None: ...

class GetProofRequestStatusRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    def __init__(self, request_id: _Optional[bytes] = ...) -> None: ...

class GetProofRequestStatusResponse(_message.Message):
    __slots__ = ("fulfillment_status", "execution_status", "request_tx_hash", "deadline", "fulfill_tx_hash", "proof_uri", "public_values_hash", "proof_public_uri")
    FULFILLMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TX_HASH_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    FULFILL_TX_HASH_FIELD_NUMBER: _ClassVar[int]
    PROOF_URI_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_VALUES_HASH_FIELD_NUMBER: _ClassVar[int]
    PROOF_PUBLIC_URI_FIELD_NUMBER: _ClassVar[int]
    fulfillment_status: FulfillmentStatus
    execution_status: ExecutionStatus
    request_tx_hash: bytes
    deadline: int
    fulfill_tx_hash: bytes
    proof_uri: str
    public_values_hash: bytes
    proof_public_uri: str
    def __init__(self, fulfillment_status: _Optional[_Union[FulfillmentStatus, str]] = ..., execution_status: _Optional[_Union[ExecutionStatus, str]] = ..., request_tx_hash: _Optional[bytes] = ..., deadline: _Optional[int] = ..., fulfill_tx_hash: _Optional[bytes] = ..., proof_uri: _Optional[str] = ..., public_values_hash: _Optional[bytes] = ..., proof_public_uri: _Optional[str] = ...) -> None: ...

class ProofRequest(_message.Message):
    __slots__ = ("request_id", "vk_hash", "version", "mode", "strategy", "program_uri", "stdin_uri", "deadline", "cycle_limit", "gas_price", "fulfillment_status", "execution_status", "requester", "fulfiller", "program_name", "requester_name", "fulfiller_name", "created_at", "updated_at", "fulfilled_at", "tx_hash", "cycles", "public_values_hash", "deduction_amount", "refund_amount", "gas_limit", "gas_used", "execute_fail_cause", "settlement_status", "program_public_uri", "stdin_public_uri", "min_auction_period", "whitelist", "error", "stdin_private")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VK_HASH_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_URI_FIELD_NUMBER: _ClassVar[int]
    STDIN_URI_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    CYCLE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    GAS_PRICE_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    FULFILLER_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_NAME_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_NAME_FIELD_NUMBER: _ClassVar[int]
    FULFILLER_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_AT_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CYCLES_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_VALUES_HASH_FIELD_NUMBER: _ClassVar[int]
    DEDUCTION_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFUND_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    GAS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    GAS_USED_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_FAIL_CAUSE_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRAM_PUBLIC_URI_FIELD_NUMBER: _ClassVar[int]
    STDIN_PUBLIC_URI_FIELD_NUMBER: _ClassVar[int]
    MIN_AUCTION_PERIOD_FIELD_NUMBER: _ClassVar[int]
    WHITELIST_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STDIN_PRIVATE_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    vk_hash: bytes
    version: str
    mode: ProofMode
    strategy: FulfillmentStrategy
    program_uri: str
    stdin_uri: str
    deadline: int
    cycle_limit: int
    gas_price: int
    fulfillment_status: FulfillmentStatus
    execution_status: ExecutionStatus
    requester: bytes
    fulfiller: bytes
    program_name: str
    requester_name: str
    fulfiller_name: str
    created_at: int
    updated_at: int
    fulfilled_at: int
    tx_hash: bytes
    cycles: int
    public_values_hash: bytes
    deduction_amount: str
    refund_amount: str
    gas_limit: int
    gas_used: int
    execute_fail_cause: ExecuteFailureCause
    settlement_status: SettlementStatus
    program_public_uri: str
    stdin_public_uri: str
    min_auction_period: int
    whitelist: _containers.RepeatedScalarFieldContainer[bytes]
    error: ProofRequestError
    stdin_private: bool
    def __init__(self, request_id: _Optional[bytes] = ..., vk_hash: _Optional[bytes] = ..., version: _Optional[str] = ..., mode: _Optional[_Union[ProofMode, str]] = ..., strategy: _Optional[_Union[FulfillmentStrategy, str]] = ..., program_uri: _Optional[str] = ..., stdin_uri: _Optional[str] = ..., deadline: _Optional[int] = ..., cycle_limit: _Optional[int] = ..., gas_price: _Optional[int] = ..., fulfillment_status: _Optional[_Union[FulfillmentStatus, str]] = ..., execution_status: _Optional[_Union[ExecutionStatus, str]] = ..., requester: _Optional[bytes] = ..., fulfiller: _Optional[bytes] = ..., program_name: _Optional[str] = ..., requester_name: _Optional[str] = ..., fulfiller_name: _Optional[str] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ..., fulfilled_at: _Optional[int] = ..., tx_hash: _Optional[bytes] = ..., cycles: _Optional[int] = ..., public_values_hash: _Optional[bytes] = ..., deduction_amount: _Optional[str] = ..., refund_amount: _Optional[str] = ..., gas_limit: _Optional[int] = ..., gas_used: _Optional[int] = ..., execute_fail_cause: _Optional[_Union[ExecuteFailureCause, str]] = ..., settlement_status: _Optional[_Union[SettlementStatus, str]] = ..., program_public_uri: _Optional[str] = ..., stdin_public_uri: _Optional[str] = ..., min_auction_period: _Optional[int] = ..., whitelist: _Optional[_Iterable[bytes]] = ..., error: _Optional[_Union[ProofRequestError, str]] = ..., stdin_private: _Optional[bool] = ...) -> None: ...

class GetProofRequestDetailsRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    def __init__(self, request_id: _Optional[bytes] = ...) -> None: ...

class GetProofRequestDetailsResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: ProofRequest
    def __init__(self, request: _Optional[_Union[ProofRequest, _Mapping]] = ...) -> None: ...

class GetFilteredProofRequestsRequest(_message.Message):
    __slots__ = ("version", "fulfillment_status", "execution_status", "minimum_deadline", "vk_hash", "requester", "fulfiller", "to", "limit", "page", "mode", "not_bid_by", "execute_fail_cause", "settlement_status", "error", "is_timed_out", "use_mainnet")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    VK_HASH_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    FULFILLER_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NOT_BID_BY_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_FAIL_CAUSE_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    IS_TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    USE_MAINNET_FIELD_NUMBER: _ClassVar[int]
    version: str
    fulfillment_status: FulfillmentStatus
    execution_status: ExecutionStatus
    minimum_deadline: int
    vk_hash: bytes
    requester: bytes
    fulfiller: bytes
    to: int
    limit: int
    page: int
    mode: ProofMode
    not_bid_by: bytes
    execute_fail_cause: ExecuteFailureCause
    settlement_status: SettlementStatus
    error: ProofRequestError
    is_timed_out: bool
    use_mainnet: bool
    def __init__(self, version: _Optional[str] = ..., fulfillment_status: _Optional[_Union[FulfillmentStatus, str]] = ..., execution_status: _Optional[_Union[ExecutionStatus, str]] = ..., minimum_deadline: _Optional[int] = ..., vk_hash: _Optional[bytes] = ..., requester: _Optional[bytes] = ..., fulfiller: _Optional[bytes] = ..., to: _Optional[int] = ..., limit: _Optional[int] = ..., page: _Optional[int] = ..., mode: _Optional[_Union[ProofMode, str]] = ..., not_bid_by: _Optional[bytes] = ..., execute_fail_cause: _Optional[_Union[ExecuteFailureCause, str]] = ..., settlement_status: _Optional[_Union[SettlementStatus, str]] = ..., error: _Optional[_Union[ProofRequestError, str]] = ..., is_timed_out: _Optional[bool] = ..., use_mainnet: _Optional[bool] = ..., **kwargs) -> None: ...

class GetFilteredProofRequestsResponse(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[ProofRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[ProofRequest, _Mapping]]] = ...) -> None: ...

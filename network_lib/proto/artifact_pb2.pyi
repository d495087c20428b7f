from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArtifactType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNSPECIFIED_ARTIFACT_TYPE: _ClassVar[ArtifactType]
    PROGRAM: _ClassVar[ArtifactType]
    STDIN: _ClassVar[ArtifactType]
    PROOF: _ClassVar[ArtifactType]
    TRANSACTION: _ClassVar[ArtifactType]
    STATE: _ClassVar[ArtifactType]
    EXPORT: _ClassVar[ArtifactType]
    PRIVATE_STDIN: _ClassVar[ArtifactType]
UNSPECIFIED_ARTIFACT_TYPE: ArtifactType
PROGRAM: ArtifactType
STDIN: ArtifactType
PROOF: ArtifactType
TRANSACTION: ArtifactType
STATE: ArtifactType
EXPORT: ArtifactType
PRIVATE_STDIN: ArtifactType

class CreateArtifactRequest(_message.Message):
    __slots__ = ("signature", "artifact_type")
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    signature: bytes
    artifact_type: ArtifactType
    def __init__(self, signature: _Optional[bytes] = ..., artifact_type: _Optional[_Union[ArtifactType, str]] = ...) -> None: ...

class CreateArtifactResponse(_message.Message):
    __slots__ = ("artifact_uri", "artifact_presigned_url")
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_PRESIGNED_URL_FIELD_NUMBER: _ClassVar[int]
    artifact_uri: str
    artifact_presigned_url: str
    def __init__(self, artifact_uri: _Optional[str] = ..., artifact_presigned_url: _Optional[str] = ...) -> None: ...

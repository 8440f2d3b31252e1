from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRequest(_message.Message):
    __slots__ = ("dataplane", "proxy_type")
    DATAPLANE_FIELD_NUMBER: _ClassVar[int]
    PROXY_TYPE_FIELD_NUMBER: _ClassVar[int]
    dataplane: str
    proxy_type: str
    def __init__(self, dataplane: _Optional[str] = ..., proxy_type: _Optional[str] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("version", "outcome")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    version: int
    outcome: str
    def __init__(self, version: _Optional[int] = ..., outcome: _Optional[str] = ...) -> None: ...

class DeregisterRequest(_message.Message):
    __slots__ = ("mesh", "name", "proxy_type")
    MESH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROXY_TYPE_FIELD_NUMBER: _ClassVar[int]
    mesh: str
    name: str
    proxy_type: str
    def __init__(self, mesh: _Optional[str] = ..., name: _Optional[str] = ..., proxy_type: _Optional[str] = ...) -> None: ...

class DeregisterResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

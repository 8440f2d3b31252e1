from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProxyMessage(_message.Message):
    __slots__ = ("hello", "reply")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    reply: AdminReply
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., reply: _Optional[_Union[AdminReply, _Mapping]] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("mesh", "name", "proxy_type")
    MESH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROXY_TYPE_FIELD_NUMBER: _ClassVar[int]
    mesh: str
    name: str
    proxy_type: str
    def __init__(self, mesh: _Optional[str] = ..., name: _Optional[str] = ..., proxy_type: _Optional[str] = ...) -> None: ...

class AdminRequest(_message.Message):
    __slots__ = ("id", "kind", "include_eds", "mesh", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EDS_FIELD_NUMBER: _ClassVar[int]
    MESH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: int
    kind: str
    include_eds: bool
    mesh: str
    name: str
    def __init__(self, id: _Optional[int] = ..., kind: _Optional[str] = ..., include_eds: _Optional[bool] = ..., mesh: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class AdminReply(_message.Message):
    __slots__ = ("id", "body", "last", "content_type", "error", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: int
    body: bytes
    last: bool
    content_type: str
    error: str
    status: int
    def __init__(self, id: _Optional[int] = ..., body: _Optional[bytes] = ..., last: _Optional[bool] = ..., content_type: _Optional[str] = ..., error: _Optional[str] = ..., status: _Optional[int] = ...) -> None: ...

"""A delta ADS client speaking real gRPC to a control plane, as a proxy would (or an attacker
with a valid token would): it subscribes to what it is told to and records every response,
and how the stream ended."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from envoy.config.core.v3.base_pb2 import Node
from envoy.service.discovery.v3 import ads_pb2_grpc
from envoy.service.discovery.v3.discovery_pb2 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
)
from google.protobuf import struct_pb2

from meshfabric.xds.envoy.types import CLUSTER, SECRET

_CLOSE = None


@dataclass
class Ended:
    code: grpc.StatusCode
    details: str


@dataclass
class AdsClient:
    """One delta ADS stream for the dataplane (mesh, name) over the Unix socket."""

    socket: str
    token: str
    mesh: str
    name: str
    responses: list[DeltaDiscoveryResponse] = field(default_factory=list)
    ended: Ended | None = None

    def __post_init__(self) -> None:
        self._requests: queue.Queue[DeltaDiscoveryRequest | None] = queue.Queue()
        self._channel = grpc.insecure_channel(f"unix:{self.socket}")
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)

    def open(self, secrets: list[str]) -> AdsClient:
        """Connect, ask for every cluster and for these secrets by name, ACK what comes."""
        metadata = struct_pb2.Struct()
        metadata.update({"mesh": self.mesh, "name": self.name})
        node = Node(id=f"{self.mesh}.{self.name}", metadata=metadata)
        self._requests.put(DeltaDiscoveryRequest(node=node, type_url=CLUSTER))
        self._requests.put(DeltaDiscoveryRequest(type_url=SECRET, resource_names_subscribe=secrets))
        self._reader.start()
        return self

    def received(self, type_url: str) -> set[str]:
        with self._lock:
            return {
                resource.name
                for response in self.responses
                if response.type_url == type_url
                for resource in response.resources
            }

    def wait_for(self, type_url: str, name: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while name not in self.received(type_url):
            if self.ended is not None or time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} never received {name}: ended {self.ended}")
            time.sleep(0.02)

    def wait_until_ended(self, timeout: float) -> Ended:
        self._reader.join(timeout)
        if self.ended is None:
            raise TimeoutError(f"the stream of {self.name} is still open after {timeout}s")
        return self.ended

    def close(self) -> None:
        self._requests.put(_CLOSE)
        self._reader.join(5)
        self._channel.close()

    def _outgoing(self) -> Iterator[DeltaDiscoveryRequest]:
        while (request := self._requests.get()) is not _CLOSE:
            yield request

    def _read(self) -> None:
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(self._channel)
        metadata = (("authorization", f"Bearer {self.token}"),)
        try:
            for response in stub.DeltaAggregatedResources(self._outgoing(), metadata=metadata):
                with self._lock:
                    self.responses.append(response)
                self._requests.put(
                    DeltaDiscoveryRequest(type_url=response.type_url, response_nonce=response.nonce)
                )
            self.ended = Ended(grpc.StatusCode.OK, "")
        except grpc.RpcError as error:
            self.ended = Ended(error.code(), error.details() or "")
        finally:
            self._requests.put(_CLOSE)  # ends the request iterator if the server ended first

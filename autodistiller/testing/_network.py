"""Which sockets a set of processes listens on, and whether each one refuses a client without Ray's token.

Used by the network-exposure test: Ray's gRPC servers (GCS, raylet, object manager, core workers) and its HTTP
servers (runtime-env agent, dashboard) all check Ray's token when token authentication is on. The probe speaks just enough HTTP/1.1 and HTTP/2 (gRPC)
to see the server's answer to an unauthenticated request, with no client library (grpcio is not a dependency).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["ListeningSocket", "ProbeResult", "listening_sockets", "is_loopback", "probe", "GRPC_UNAUTHENTICATED"]

GRPC_UNAUTHENTICATED = 16
GRPC_UNIMPLEMENTED = 12
#: one harmless read-only method per Ray gRPC service a node runs: a socket answers the one it serves
RAY_GRPC_METHODS = (
    "/ray.rpc.NodeInfoGcsService/GetClusterId",  # GCS
    "/ray.rpc.NodeManagerService/GetSystemConfig",  # raylet
    "/ray.rpc.CoreWorkerService/NumPendingTasks",  # drivers and workers
    "/ray.rpc.ObjectManagerService/Pull",  # raylet's object manager (probed without a token only)
    "/ray.rpc.ReporterService/GetTraceback",  # the dashboard agent (with ray[default])
)


@dataclass(frozen=True)
class ListeningSocket:
    pid: int
    process: str
    ip: str
    port: int


@dataclass(frozen=True)
class ProbeResult:
    """``refused``: the server answered and turned the token-less request away (HTTP 401/403, gRPC
    UNAUTHENTICATED). ``detail`` says what it answered."""

    refused: bool
    protocol: str
    detail: str


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback (``::ffff:127.0.0.1``, how gRPC reports a 127.0.0.1 bind)."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def listening_sockets(pids: Iterable[int]) -> list[ListeningSocket]:
    """The TCP sockets in LISTEN state owned by ``pids`` (psutil; needs permission to read their fds)."""
    import psutil

    found = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            name = process.name()
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for conn in connections:
            if conn.status == psutil.CONN_LISTEN:
                found.append(ListeningSocket(pid, name, conn.laddr.ip, conn.laddr.port))
    return found


def _http1(host: str, port: int, timeout: float) -> tuple[str, bytes] | None:
    """The status line and the start of the body of an HTTP/1 answer to ``GET /``, or None when the server does
    not speak HTTP/1."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        try:
            while len(data) < 8192 and len(data.partition(b"\r\n\r\n")[2]) < 16:  # headers + a bit of the body
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
                if len(data) >= 5 and not data.startswith(b"HTTP/"):  # not HTTP/1 (e.g. an HTTP/2 GOAWAY)
                    break
        except OSError:
            pass
    if data.startswith(b"HTTP/1."):
        head, _, body = data.partition(b"\r\n\r\n")
        return head.split(b"\r\n", 1)[0].decode("latin-1"), body
    return None


# ---- just enough HTTP/2 for one unary gRPC call (RFC 9113, RFC 7541)

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _PING, _GOAWAY, _CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x9
_END_STREAM, _END_HEADERS, _ACK = 0x1, 0x4, 0x1


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def _hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _hpack_literal(name: str, value: str) -> bytes:
    """Literal header field without indexing, new name, no Huffman."""
    return (b"\x00" + _hpack_int(len(name), 7) + name.encode() + _hpack_int(len(value.encode()), 7)
            + value.encode())


def _read_int(data: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
    limit = (1 << prefix_bits) - 1
    value = data[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _read_string(data: bytes, pos: int) -> tuple[str | None, int]:
    huffman = bool(data[pos] & 0x80)
    length, pos = _read_int(data, pos, 7)
    raw = data[pos:pos + length]
    return (None if huffman else raw.decode("latin-1")), pos + length  # Huffman: not needed for gRPC's trailers


_STATIC_TABLE_SIZE = 61


def _hpack_decode(block: bytes, table: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Decode a header block; names from the static table come back as ``#<index>`` (none of them matters
    here), Huffman-coded strings as None. ``table`` is the connection's dynamic table, updated in place."""
    headers: list[tuple[str, str | None]] = []
    pos = 0

    def name_at(index: int) -> str:
        if index <= _STATIC_TABLE_SIZE:
            return f"#{index}"
        dynamic = index - _STATIC_TABLE_SIZE - 1
        return table[dynamic][0] if dynamic < len(table) else f"#{index}"

    while pos < len(block):
        byte = block[pos]
        if byte & 0x80:  # indexed field
            index, pos = _read_int(block, pos, 7)
            dynamic = index - _STATIC_TABLE_SIZE - 1
            headers.append(table[dynamic] if 0 <= dynamic < len(table) else (f"#{index}", None))
        elif byte & 0x40 or not byte & 0x20:  # literal: with incremental indexing (01), without / never (000x)
            bits = 6 if byte & 0x40 else 4
            index, pos = _read_int(block, pos, bits)
            if index:
                name: str | None = name_at(index)
            else:
                name, pos = _read_string(block, pos)
            value, pos = _read_string(block, pos)
            field = (name or "?", value)
            headers.append(field)
            if byte & 0x40:
                table.insert(0, field)
        else:  # dynamic table size update (001)
            _, pos = _read_int(block, pos, 5)
    return headers


def _grpc_call(host: str, port: int, method: str, token: str | None, timeout: float) -> dict[str, str | None]:
    """One unary gRPC call with an empty request; returns the response headers and trailers (``grpc-status``,
    ``grpc-message``), or ``{"error": ...}`` when the server closed the stream or the connection."""
    headers = [(":method", "POST"), (":scheme", "http"), (":path", method), (":authority", f"{host}:{port}"),
               ("content-type", "application/grpc"), ("te", "trailers")]
    if token is not None:
        headers.append(("authorization", f"Bearer {token}"))
    block = b"".join(_hpack_literal(k, v) for k, v in headers)
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(_PREFACE + _frame(_SETTINGS, 0, 0, b"") + _frame(_HEADERS, _END_HEADERS, 1, block)
                     + _frame(_DATA, _END_STREAM, 1, b"\x00\x00\x00\x00\x00"))
        buffer = b""
        table: list[tuple[str, str | None]] = []
        pending = b""
        answer: dict[str, str | None] = {}
        while True:
            while len(buffer) < 9 or len(buffer) < 9 + int.from_bytes(buffer[:3], "big"):
                chunk = conn.recv(65536)
                if not chunk:
                    return answer or {"error": "connection closed"}
                buffer += chunk
            length = int.from_bytes(buffer[:3], "big")
            kind, flags = buffer[3], buffer[4]
            stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            payload, buffer = buffer[9:9 + length], buffer[9 + length:]
            if kind == _SETTINGS and not flags & _ACK:
                conn.sendall(_frame(_SETTINGS, _ACK, 0, b""))
            elif kind == _PING and not flags & _ACK:
                conn.sendall(_frame(_PING, _ACK, 0, payload))
            elif kind == _GOAWAY:
                return answer or {"error": f"GOAWAY {payload[4:8].hex()} {payload[8:]!r}"}
            elif kind == _RST_STREAM and stream == 1:
                return answer or {"error": f"RST_STREAM {payload.hex()}"}
            elif kind in (_HEADERS, _CONTINUATION) and stream == 1:
                if kind == _HEADERS:
                    pad = payload[0] if flags & 0x8 else 0
                    start = (1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)
                    payload = payload[start:len(payload) - pad]
                pending += payload
                if flags & _END_HEADERS:
                    answer.update(_hpack_decode(pending, table))
                    pending = b""
                if flags & _END_STREAM:
                    return answer
            elif kind == _DATA and stream == 1 and flags & _END_STREAM:
                return answer


def probe(host: str, port: int, *, token: str | None = None, methods: Sequence[str] = RAY_GRPC_METHODS,
          timeout: float = 5.0) -> ProbeResult:
    """Send a request without credentials (or with ``token``) to ``host:port`` and classify the answer.

    HTTP/1 servers: refused when the status is 401 or 403; a Prometheus metrics page (which Ray serves without
    a token) comes back as protocol ``prometheus``, not refused. gRPC servers: each of ``methods`` is called
    until one is not UNIMPLEMENTED; refused when that one answers UNAUTHENTICATED. Anything else (an answer, a
    server that implements none of the methods, a protocol the probe does not know) is *not* refused.
    """
    answer = _http1(host, port, timeout)
    if answer is not None:
        status_line, body = answer
        code = status_line.split(" ", 2)[1] if " " in status_line else ""
        if code == "200" and body.lstrip().startswith((b"# HELP", b"# TYPE")):
            return ProbeResult(False, "prometheus", f"{status_line}: read-only metrics")
        return ProbeResult(code in ("401", "403"), "http", status_line)
    answers = []
    for method in methods:
        answer = _grpc_call(host, port, method, token, timeout)
        status = answer.get("grpc-status")
        answers.append(f"{method}: {status if status is not None else answer.get('error', answer)}")
        if status == str(GRPC_UNIMPLEMENTED):
            continue
        refused = status == str(GRPC_UNAUTHENTICATED)
        return ProbeResult(refused, "grpc", f"{method}: grpc-status {status} {answer.get('grpc-message') or ''}"
                           if status is not None else answers[-1])
    return ProbeResult(False, "unknown", "; ".join(answers))

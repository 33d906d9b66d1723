"""AWS wire details for tests: event-stream frames and SigV4 checking, both with botocore.

``frame`` writes an ``application/vnd.amazon.eventstream`` message by hand (so tests
can also write broken ones); ``read_frames`` reads them back with botocore's own
parser, so a test can prove the frames are what AWS's SDKs read. ``check_signature``
recomputes a request's SigV4 signature with botocore from what the server received.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.eventstream import EventStreamBuffer

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: string headers, the payload, both CRCs."""
    encoded = b""
    for name, value in headers.items():
        key, data = name.encode(), value.encode()
        encoded += bytes([len(key)]) + key + b"\x07" + len(data).to_bytes(2, "big") + data
    total = 12 + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    message = prelude + zlib.crc32(prelude).to_bytes(4, "big") + encoded + payload
    return message + zlib.crc32(message).to_bytes(4, "big")


def event(kind: str, **payload: Any) -> bytes:
    """An ``event`` frame, as ConverseStream sends them (with its ``p`` padding field)."""
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, orjson.dumps({**payload, "p": "abcdefghij"}))


def exception(kind: str, message: str) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return frame(headers, orjson.dumps({"message": message}))


def read_frames(data: bytes) -> list[tuple[dict[str, Any], Any]]:
    """``(headers, JSON payload)`` of each frame, read by botocore (which checks the CRCs)."""
    parser = EventStreamBuffer()
    parser.add_data(data)
    return [(m.headers, orjson.loads(m.payload)) for m in parser]


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str
    token: str | None = None


@dataclass
class Signed:
    """What a signed request's ``Authorization`` says."""

    access_key: str
    region: str
    service: str
    signed_headers: list[str]


def check_signature(
    keys: dict[str, Keys], region: str, path: str, headers: dict[str, str], body: bytes
) -> Signed | str:
    """The request's signature as checked (``Signed``), or why AWS would refuse it.
    ``headers`` have lower-case names; ``path`` is the raw request target."""
    found = AUTHORIZATION.match(headers.get("authorization", ""))
    if found is None:
        return "Authorization header requires 'Credential' parameter."
    access_key, day, scope_region, service, signed, signature = found.groups()
    known = keys.get(access_key)
    if known is None:
        return "The security token included in the request is invalid."
    names = signed.split(";")
    date = headers.get("x-amz-date", "")
    if "host" not in names or "x-amz-date" not in names or not date.startswith(day):
        return "The request must sign host and x-amz-date."
    stamp = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    if abs(time.time() - stamp) > 300:
        return "Signature expired."
    if (known.token is not None) != ("x-amz-security-token" in names) or headers.get(
        "x-amz-security-token"
    ) != known.token:
        return "The security token included in the request is invalid."
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        return "The provided 'x-amz-content-sha256' header does not match what was computed."
    if scope_region != region or service != "bedrock":
        return f"Credential should be scoped to a valid region ({region}) and service (bedrock)."
    request = AWSRequest(
        method="POST",
        url=f"http://{headers['host']}{path}",
        data=body,
        headers={name: headers[name] for name in names if name in headers},
    )
    request.context["timestamp"] = date
    credentials = ReadOnlyCredentials(access_key, known.secret_key, known.token)
    signer = SigV4Auth(credentials, service, scope_region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, signature):
        return SIGNATURE_MISMATCH
    return Signed(access_key, scope_region, service, names)

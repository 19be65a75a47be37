"""What the loopback fakes of AWS APIs share: the credentials their fake IMDS hands out, and an
independent check of the SigV4 signature of a request they received."""

from __future__ import annotations

import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

ACCESS_KEY = "ASIAFAKE"
SECRET_KEY = "fake-secret-key"
#: IMDSv2 answers of an instance with role "role" (path -> body).
IMDS_ANSWERS = {
    "/latest/api/token": "imds-session",
    "/latest/meta-data/iam/security-credentials/": "role\n",
    "/latest/meta-data/iam/security-credentials/role": json.dumps(
        {"AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY, "Token": "session"}),
}


class LoopbackAws(BaseHTTPRequestHandler):
    """A quiet request handler for loopback fakes of AWS APIs: `answer` sends one response."""

    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, code: int, body: bytes | str = b"") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def expected_signature(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> bool:
    """Recompute the SigV4 signature of a received request (independent of the helper)."""
    auth = headers["authorization"]
    cred = auth.split("Credential=")[1].split(",")[0]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    access, date, region, service, _ = cred.split("/")
    path, _, query = raw_path.partition("?")
    pairs = sorted(query.split("&")) if query else []
    canonical = "\n".join([
        method, path, "&".join(pairs),
        "".join(f"{n}:{headers[n].strip()}\n" for n in signed), ";".join(signed),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers["x-amz-date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    good = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return access == ACCESS_KEY and "host" in signed and auth.endswith(f"Signature={good}")

"""A Kong Air service for the demo: answers who called it, as its sidecar told it."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    # The whole answer leaves in one write when the handler returns. An instance killed
    # mid-answer then sends nothing, which its sidecar retries on another endpoint, rather
    # than headers without their body, which nobody can retry.
    wbufsize = 1 << 16

    def do_GET(self) -> None:
        caller = self.headers.get("x-forwarded-client-cert", "")
        uri = next((part[4:] for part in caller.split(";") if part.startswith("URI=")), None)
        body = json.dumps({"service": sys.argv[2], "caller": uri}).encode() + b"\n"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

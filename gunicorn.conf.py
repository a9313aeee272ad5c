"""gunicorn's settings for this project (read from the working directory: `gunicorn contacts_site.wsgi`).

gunicorn refuses a request it cannot parse (a request line over `limit_request_line`, headers over
`limit_request_field_size`, a malformed line) before Django sees it, with an HTML page; API clients
expect the API's JSON error body. Its one error writer is replaced with one that answers JSON.
"""

import json

from gunicorn import util

# Each worker is replaced after 5,000 to 5,500 requests (the jitter keeps the workers from restarting
# together), so the memory a big page or a large synchronous import made it hold is given back. The
# application is loaded once, in the master (preload_app), and a new worker is a fork of it: replacing a
# worker costs no Django start-up. Measured with bench/api_load.py (32 clients, 3 workers): replacing
# each worker after 500 requests, each loading Django, made 92 requests/s with a p99 of 1,022 ms; never
# replacing them, 117 requests/s and 373 ms; preloaded and replaced after 500, 127 requests/s and 588 ms.
preload_app = True
max_requests = 5000
max_requests_jitter = 500

# The defaults, stated: a URL of at most 4,094 bytes (414 beyond), a header of at most 8,190 (431).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

MESSAGES = {
    400: "The request could not be read: its request line or a header is malformed.",
    414: "The URL is too long (at most 4,094 characters with its query string); send fewer or shorter "
    "query parameters.",
    431: "The request's headers are too large (at most 100 headers of 8,190 bytes each).",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    message = MESSAGES.get(status_int) or reason
    body = json.dumps({"message": message, "errors": {}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin1")
    util.write_nonblock(sock, head + body)


util.write_error = write_json_error

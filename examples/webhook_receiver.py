"""A minimal receiver of the counter webhook: checks each POST's signature and keeps each batch once.

Run it, then point the producer at it (docs/feeds.md, "The webhook")::

    python examples/webhook_receiver.py --secret demo-secret --url-file url.txt --out received.jsonl &
    COUNTER_WEBHOOK_URL=$(cat url.txt) COUNTER_WEBHOOK_SECRET=demo-secret foot-traffic produce ...

Every POST whose ``X-Foot-Traffic-Signature`` is not the HMAC-SHA256 of its
body under the secret is answered 401. A batch whose ``Idempotency-Key`` was
seen before is answered 200 and not kept again (a retry, or a restarted
producer sending what it had not seen acknowledged). The records of every new
batch are appended to ``--out``, one JSON line each, before the answer: what
was acknowledged is on disk; with ``--registers-out``, those of a batch whose
``X-Foot-Traffic-Kind`` is ``registers`` (``WEBHOOK_RECORDS=both``) go there
instead. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True, help="COUNTER_WEBHOOK_SECRET of the producer")
    parser.add_argument("--out", required=True, help="where the received records go (JSON lines)")
    parser.add_argument("--registers-out", help="where the received registers go (default: --out)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--url-file", help="write the receiver's URL here once it listens")
    args = parser.parse_args()
    seen: set[str] = set()
    lock = threading.Lock()
    out = open(args.out, "a", encoding="utf-8")
    registers = open(args.registers_out, "a", encoding="utf-8") if args.registers_out else out

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-Foot-Traffic-Signature", "")):
                self.send_response(401)
            else:
                with lock:
                    key = self.headers["Idempotency-Key"]
                    if key not in seen:
                        kept = registers if self.headers.get("X-Foot-Traffic-Kind") == "registers" else out
                        for record in json.loads(body):
                            kept.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
                        kept.flush()
                        seen.add(key)
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *more: object) -> None:  # noqa: A002 (http.server's name)
            return None

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.url_file:
        with open(args.url_file, "w", encoding="utf-8") as f:
            f.write(f"http://127.0.0.1:{server.server_address[1]}/counts\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        out.close()
        registers.close()


if __name__ == "__main__":
    main()

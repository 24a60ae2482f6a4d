"""Starts moto (the AWS emulator) in server mode for glucolink's tests, processing one request at a time.

moto's own `moto_server` is threaded and its DynamoDB `TransactWriteItems` checks conditions and writes
without a lock, so two concurrent transactions can both pass a `attribute_not_exists` condition: real
DynamoDB never allows that, and our concurrency tests (exactly one winner) would flake. Serialising
requests behind one lock makes moto as atomic as DynamoDB; connections are still accepted concurrently.

Usage: python infra/moto_server.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # moto answers with materialised bodies, so the whole answer is built inside the lock.
            return list(app(environ, start_response))

    run_simple("127.0.0.1", port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

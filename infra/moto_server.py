"""Starts moto (the AWS emulator) in server mode for glucolink's tests, processing one request at a time.

moto's own `moto_server` is threaded and its DynamoDB `TransactWriteItems` checks conditions and writes
without a lock, so two concurrent transactions can both pass a `attribute_not_exists` condition: real
DynamoDB never allows that, and our concurrency tests (exactly one winner) would flake. Serialising
requests behind one lock makes moto as atomic as DynamoDB; connections are still accepted concurrently.

moto also backs up every table a transaction touches with a deep copy of the whole table, so each
`TransactWriteItems` costs time in proportion to everything stored: after a few 90-day uploads a
sign-up took 20 to 40 seconds and the cloud rehearsal's functions timed out. Here a transaction backs up
only the items it names, and puts them back if it is cancelled (same outcome, as requests are serialised).

Usage: python infra/moto_server.py PORT
"""

import copy
import sys
import threading

import moto.dynamodb.models as dynamodb_models

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class _TablesBackedUpByItem:
    """Stands in for `copy` in moto's DynamoDB backend: a table is not copied whole (see above)."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, dynamodb_models.Table):
            return value
        return copy.deepcopy(value, memo)


def _item_key(backend, op_type, op):
    table = backend.get_table(op["TableName"])
    if op_type == "Put":
        key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = op["Item"][table.range_key_attr]
        return key
    return op["Key"]


def _transact_write_items_backing_up_items(original):
    def transact_write_items(self, transact_items):
        before = []
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                key = _item_key(self, op_type, op)
                current = self.get_item(op["TableName"], key)
                before.append((op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
            except Exception:  # moto reports malformed items itself
                continue
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(before):
                if attributes is None:
                    try:
                        self.delete_item(table_name, key)
                    except Exception:
                        pass
                else:
                    self.put_item(table_name, attributes)
            raise

    return transact_write_items


def main() -> None:
    dynamodb_models.copy = _TablesBackedUpByItem
    dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items_backing_up_items(
        dynamodb_models.DynamoDBBackend.transact_write_items
    )
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

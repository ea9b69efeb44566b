"""moto's server, with each service's backend operations serialized.

Real DynamoDB applies a TransactWriteItems atomically and isolated from other writers; real SQS
never hands out a FIFO group's messages to two consumers at once. moto 5.2 does neither under
concurrent requests: its server runs a thread per request and its backends take no locks.
- DynamoDB: TransactWriteItems snapshots the tables, applies the actions one by one and, on a
  failed condition, restores the snapshot, clobbering whatever another thread wrote meanwhile
  (lost or phantom writes under the concurrent-placement tests).
- SQS: ReceiveMessage reads "groups in flight" and then marks messages in flight without a lock,
  so two pollers can receive messages of the same FIFO group at the same time.
One lock per backend gives the behaviour the adapters are written against. ReceiveMessage's long
poll waits outside the lock, so a waiting consumer never blocks the others.

Usage: python tests/moto_server.py -H 127.0.0.1 -p PORT
"""

import functools
import threading
import time

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from moto.sqs.models import SQSBackend


def _serialize(cls, lock, skip=()):
    def wrap(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            with lock:
                return method(self, *args, **kwargs)

        return wrapper

    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_") and name not in skip:
            setattr(cls, name, wrap(member))


_serialize(DynamoDBBackend, threading.RLock())

_SQS_LOCK = threading.RLock()
_serialize(SQSBackend, _SQS_LOCK, skip=("receive_message",))
_receive = SQSBackend.receive_message


@functools.wraps(_receive)
def _receive_message(
    self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None
):
    deadline = time.monotonic() + (wait_seconds_timeout or 0)
    while True:
        with _SQS_LOCK:
            result = _receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(0.05)


SQSBackend.receive_message = _receive_message

if __name__ == "__main__":
    main()

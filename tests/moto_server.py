"""moto's server, with DynamoDB operations serialized.

Real DynamoDB applies a TransactWriteItems atomically and isolated from other writers. moto 5.2
does not: it snapshots the tables, applies the actions one by one and, on a failed condition,
restores the snapshot, clobbering whatever another request thread wrote in between. Under the
concurrent-placement tests that shows up as lost or phantom writes that DynamoDB would never
produce. One lock around every DynamoDB backend operation gives the serializable behaviour the
adapters are written against; SQS is left concurrent (long polls must not block DynamoDB).

Usage: python tests/moto_server.py -H 127.0.0.1 -p PORT
"""

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with _LOCK:
            return method(self, *args, **kwargs)

    return wrapper


for _name, _member in list(vars(DynamoDBBackend).items()):
    if callable(_member) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _serialized(_member))

if __name__ == "__main__":
    main()

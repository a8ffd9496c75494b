"""sample-func: logs the event it was invoked with and returns nothing.

stepgate's `command` runtime runs this file once per invocation: the event
arrives as JSON on stdin, the result is the JSON printed on stdout (nothing
printed means null, like a Lambda handler that returns nothing), and stderr
is the function's log. `handler` is an ordinary Lambda handler, so the same
file also runs on AWS Lambda (handler = print_event.handler).
"""

import json
import sys


def handler(event, context):
    # Compact JSON with non-ASCII characters as they are: the log line shows
    # exactly the payload the webhook received.
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    print("Printing out the event " + text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    # The log is UTF-8 whatever the locale says.
    sys.stderr.reconfigure(encoding="utf-8", errors="backslashreplace")
    handler(json.loads(sys.stdin.buffer.read() or b"{}"), None)

"""Schemathesis hooks for scripts/schemathesis (docs/SCHEMATHESIS.md).

Every generated request that carries an `Idempotency-Key` gets a fresh one. Generated keys
repeat ("0", "!"), and a repeat with the same body is answered with the first request's answer
(docs/IDEMPOTENCY.md): in the stateful phase that replays the creation of a resource an earlier
step deleted, and the next step rightly finds it gone (ST302). Reused keys are tested in
server/tests/api/idempotency.rs.
"""

import uuid

import schemathesis


@schemathesis.hook
def map_headers(ctx, headers):
    if headers and "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers

"""What each door answers while the database is down (errors.StoreUnavailable): its own error shape, HTTP 503.

Every door answers HTTP 503 with `Retry-After`, so that load balancers and clients' retry logic see a passing
fault, and a body in its own dialect's error shape: eSMS its per-API result key with code 500, NXCloud 9001
(`System business error`), the native and admin APIs `{"error":"unavailable",…}`. The store logs the outage
once (`store.outage`); the doors log nothing more.
"""

from __future__ import annotations

import fastapi

from dlrhub.api import deps
from dlrhub.api import esms as esms_door
from dlrhub.api import nxcloud as nxcloud_door
from dlrhub.dialects.esms import codes as esms_codes
from dlrhub.dialects.esms import responses as esms_responses
from dlrhub.dialects.nxcloud import codes as nx_codes
from dlrhub.dialects.nxcloud import responses as nx_responses

#: Seconds a client is asked to wait: long enough for a restart or a failover, short enough not to pile up.
RETRY_AFTER_S = 5

_ESMS_BODIES = (
    (esms_door.GET_CALLBACK, esms_responses.get_callback_error),
    (esms_door.PREFIX + "GetSendStatus", esms_responses.code_response_error),
    (esms_door.PREFIX + "GetBalance_json", esms_responses.balance_error),
    (esms_door.PREFIX + "QueryZnsStatus", esms_responses.code_result_error),
    (esms_door.PREFIX + "GetZaloMessageStatus", esms_responses.code_result_error),
    (esms_door.PREFIX, esms_responses.send_error),
)


def answer(path: str) -> fastapi.Response:
    """The answer of the door at `path` while the database does not answer."""
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if path.startswith(nxcloud_door.router.prefix + "/"):
        body = nx_responses.refused(int(nx_codes.Code.SYSTEM_BUSINESS_ERROR))
        return fastapi.Response(body, 503, headers, "application/json")
    for prefix, shape in _ESMS_BODIES:
        if path.startswith(prefix):
            body = shape(int(esms_codes.Code.SYSTEM_ERROR), None)
            return fastapi.Response(body, 503, headers, "application/json")
    response = deps.problem(503, "unavailable", "the database does not answer; try again later")
    response.headers.update(headers)
    return response

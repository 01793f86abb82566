"""The Zalo client follows no redirect: an answer pointing elsewhere would take the app secret, the refresh token
or an OA's access token (headers and body, kept on a 307) to a host nobody configured."""

from __future__ import annotations

from dlrhub.adapters.zalo import client
from dlrhub.dialects.zalo import wire
from tests.receivers import Answer, Receiver


async def test_a_redirect_from_zalo_is_an_answer_not_a_hop() -> None:
    async with Receiver() as zalo, Receiver() as elsewhere:
        away = {"Location": elsewhere.url("/stolen")}
        zalo.script(wire.PATH_OAUTH_TOKEN, Answer(307, "", away))
        zalo.script(wire.PATH_QUOTA, Answer(302, "", away))
        base = zalo.url("").rstrip("/")
        async with client.ZaloClient(api_base=base, oauth_base=base, timeout=5.0) as api:
            grant = await api.refresh_token("app-1", "app-secret-not-forwarded", "refresh-not-forwarded")
            quota = await api.quota("oa-token-not-forwarded")
    assert grant.value is None and quota.value is None
    assert [hit.path for hit in zalo.hits] == [wire.PATH_OAUTH_TOKEN, wire.PATH_QUOTA]
    assert elsewhere.hits == []

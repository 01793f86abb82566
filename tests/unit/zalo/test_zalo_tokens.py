"""TokenKeeper: refresh before expiry, once more after -124, single-flight, the new refresh token persisted."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from dlrhub.adapters.zalo import tokens
from dlrhub.dialects.zalo import wire

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


class FakeRefresher:
    """Answers like Zalo's OAuth v4: each refresh token works once."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.used: set[str] = set()
        self.fail = fail

    async def refresh_token(self, app_id, app_secret, refresh_token):
        self.calls.append(refresh_token)
        await asyncio.sleep(0)
        if self.fail or refresh_token in self.used:
            return wire.Answer(None, error=-14014, message="Invalid refresh_token")
        self.used.add(refresh_token)
        n = len(self.used)
        return wire.Answer(wire.TokenGrant(f"access-{n}", f"refresh-{n}", 90000), error=0)


class FakeSender:
    """Zalo that says -124 to any token in `dead`."""

    def __init__(self, dead: set[str]) -> None:
        self.dead = dead
        self.tokens: list[str] = []

    async def send_template(self, oa_token, send):
        self.tokens.append(oa_token)
        if oa_token in self.dead:
            return wire.send_outcome(b'{"error":-124,"message":"Access token is invalid"}')
        return wire.send_outcome(b'{"error":0,"message":"Success","data":{"msg_id":"m1"}}')


def make_keeper(refresher, expires_in=dt.timedelta(hours=25), margin=dt.timedelta(minutes=30)):
    clock = FakeClock()
    persisted: list[tokens.TokenState] = []

    async def persist(state):
        persisted.append(state)

    keeper = tokens.TokenKeeper(
        refresher,
        app_id="app",
        app_secret="secret",
        state=tokens.TokenState("access-0", "refresh-0", T0 + expires_in),
        clock=clock,
        persist=persist,
        margin=margin,
    )
    return keeper, clock, persisted


def test_needs_refresh_decision():
    state = tokens.TokenState("a", "r", T0 + dt.timedelta(hours=1))
    assert not tokens.needs_refresh(state, T0, dt.timedelta(minutes=30))
    assert tokens.needs_refresh(state, T0 + dt.timedelta(minutes=30), dt.timedelta(minutes=30))
    assert tokens.needs_refresh(state, T0 + dt.timedelta(hours=2))
    grant = wire.TokenGrant("a2", "r2", 90000)
    assert tokens.after_grant(grant, T0) == tokens.TokenState("a2", "r2", T0 + dt.timedelta(hours=25))


async def test_fresh_token_is_used_without_refresh():
    refresher = FakeRefresher()
    keeper, _, persisted = make_keeper(refresher)
    assert await keeper.access_token() == "access-0"
    assert refresher.calls == []
    assert persisted == []


async def test_refreshes_before_expiry_and_persists_new_refresh_token():
    refresher = FakeRefresher()
    keeper, clock, persisted = make_keeper(refresher)
    clock.now = T0 + dt.timedelta(hours=24, minutes=31)
    assert await keeper.access_token() == "access-1"
    assert refresher.calls == ["refresh-0"]
    assert persisted == [tokens.TokenState("access-1", "refresh-1", clock.now + dt.timedelta(seconds=90000))]
    assert keeper.refreshes == 1


async def test_concurrent_callers_share_one_refresh():
    refresher = FakeRefresher()
    keeper, _, _ = make_keeper(refresher, expires_in=dt.timedelta(minutes=1))
    got = await asyncio.gather(*(keeper.access_token() for _ in range(20)))
    assert set(got) == {"access-1"}
    assert refresher.calls == ["refresh-0"]


async def test_failed_refresh_keeps_current_token():
    refresher = FakeRefresher(fail=True)
    keeper, _, persisted = make_keeper(refresher, expires_in=dt.timedelta(minutes=1))
    assert await keeper.access_token() == "access-0"
    assert persisted == []
    assert await keeper.refresh_after_invalid("access-0") is None


async def test_send_with_refresh_retries_once_after_124():
    refresher = FakeRefresher()
    keeper, _, persisted = make_keeper(refresher)
    sender = FakeSender(dead={"access-0"})
    out = await tokens.send_with_refresh(
        keeper,
        sender,
        wire.TemplateSend(template_id="1", template_data={"k": "v"}, tracking_id="t", phone="84900000124"),
    )
    assert out.code == 0
    assert sender.tokens == ["access-0", "access-1"]
    assert [s.refresh_token for s in persisted] == ["refresh-1"]


async def test_124_that_survives_the_refresh_fails_17004_without_a_third_try():
    refresher = FakeRefresher()
    keeper, _, _ = make_keeper(refresher)
    sender = FakeSender(dead={"access-0", "access-1"})
    out = await tokens.send_with_refresh(
        keeper,
        sender,
        wire.TemplateSend(template_id="1", template_data={"k": "v"}, tracking_id="t", phone="84900000124"),
    )
    assert (out.code, out.zalo_error) == (17004, -124)
    assert sender.tokens == ["access-0", "access-1"]
    assert refresher.calls == ["refresh-0"]


async def test_concurrent_124s_refresh_once():
    refresher = FakeRefresher()
    keeper, _, _ = make_keeper(refresher)
    sender = FakeSender(dead={"access-0"})
    outs = await asyncio.gather(
        *(
            tokens.send_with_refresh(
                keeper,
                sender,
                wire.TemplateSend(
                    template_id="1", template_data={"k": "v"}, tracking_id=f"t{i}", phone="849"
                ),
            )
            for i in range(10)
        )
    )
    assert {o.code for o in outs} == {0}
    assert refresher.calls == ["refresh-0"]


async def test_shared_lock_is_held_around_reload_grant_and_persist():
    """Two keepers (two processes) sharing one store and one lock: one grant, the other adopts it."""
    refresher = FakeRefresher()
    stored = [tokens.TokenState("access-0", "refresh-0", T0)]
    trace: list[str] = []
    lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def shared():
        async with lock:
            trace.append("lock")
            yield
            trace.append("unlock")

    def keeper() -> tokens.TokenKeeper:
        async def reload():
            trace.append("reload")
            await asyncio.sleep(0)
            return stored[-1]

        async def persist(state):
            trace.append("persist")
            stored.append(state)

        return tokens.TokenKeeper(
            refresher,
            app_id="app",
            app_secret="secret",
            state=stored[0],
            clock=lambda: T0,
            persist=persist,
            reload=reload,
            lock=shared,
        )

    first, second = keeper(), keeper()
    got = await asyncio.gather(first.access_token(), second.access_token())
    assert list(got) == ["access-1", "access-1"]
    assert refresher.calls == ["refresh-0"]
    assert trace == ["lock", "reload", "persist", "unlock", "lock", "reload", "unlock"]

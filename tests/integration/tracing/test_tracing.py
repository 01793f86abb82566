"""Tracing on: one trace from the eSMS door (the fast lane) through the Zalo send to each callback attempt."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, export
from opentelemetry.sdk.trace.export import in_memory_span_exporter

from dlrhub.adapters import tracing
from dlrhub.workers import dispatcher
from tests import customers, receivers
from tests.integration.zalo import channel

#: The eSMS door the tests send through (on the fast lane).
DOOR = "/MainService.svc/json/SendZaloMessage_V6/"


@contextlib.contextmanager
def traced() -> Iterator[in_memory_span_exporter.InMemorySpanExporter]:
    exporter = in_memory_span_exporter.InMemorySpanExporter()
    tracing.configure("off", export.SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        tracing.shutdown()


def door_span(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    (door,) = [s for s in spans if s.name == "POST" and dict(s.attributes or {})["url.path"] == DOOR]
    return door


async def test_a_send_is_one_trace_from_the_door_to_each_callback_attempt(db, receiver: receivers.Receiver):
    with traced() as exporter:
        async with channel.running(db, callback_allow=("127.0.0.1",)) as run:
            customer = customers.Customer(run.http, run.new.credentials())
            sms_id = await customer.esms("0901888484", receiver.url("/esms"))
            message = await run.hub.store.get_message(sms_id)
            assert message is not None and message.traceparent is not None
            await run.send_all()
            stop = asyncio.Event()
            task = asyncio.create_task(dispatcher.run(run.hub, stop))
            try:
                await receiver.wait(lambda h: h.path == "/esms")
            finally:
                stop.set()
                await task
        spans = exporter.get_finished_spans()
    door = door_span(spans)
    zalo = next(s for s in spans if s.name == "zalo send")
    attempts = [s for s in spans if s.name == "callback attempt"]
    assert attempts
    trace_id = door.context.trace_id
    assert message.traceparent.split("-")[1] == f"{trace_id:032x}"
    assert zalo.context.trace_id == trace_id and zalo.parent is not None
    assert zalo.parent.span_id == door.context.span_id
    assert dict(zalo.attributes or {})["message.id"] == sms_id
    for attempt in attempts:
        assert attempt.context.trace_id == trace_id
        assert attempt.parent is not None and attempt.parent.span_id == door.context.span_id


async def test_an_incoming_traceparent_is_the_door_span_s_parent(db, receiver: receivers.Receiver):
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with traced() as exporter:
        async with channel.running(db) as run:
            customer = customers.Customer(run.http, run.new.credentials())
            body = customer.zns(TempID=customer.credentials["esms"]["TempIDs"][0], TempData={"name": "An"})
            answer = await run.http.post(DOOR, json=body, headers={"traceparent": parent})
            assert answer.json()["CodeResult"] == "100", answer.text
        spans = exporter.get_finished_spans()
    door = door_span(spans)
    assert f"{door.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert door.parent is not None and f"{door.parent.span_id:016x}" == "b7ad6b7169203331"


async def test_tracing_off_records_nothing_and_stores_no_traceparent(db):
    tracing.configure("off")
    assert not tracing.enabled()
    async with channel.running(db) as run:
        customer = customers.Customer(run.http, run.new.credentials())
        body = customer.zns(TempID=customer.credentials["esms"]["TempIDs"][0], TempData={"name": "An"})
        answer = await run.http.post("/MainService.svc/json/SendZaloMessage_V6/", json=body)
        message = await run.hub.store.get_message(answer.json()["SMSID"])
    assert message is not None and message.traceparent is None


@pytest.mark.parametrize("mode", ["off", "OFF "])
def test_off_needs_no_opentelemetry(mode):
    with tracing.span("nothing", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", x=1):
        pass
    assert tracing.inject() is None and tracing.extract("00-x") is None
    tracing.configure(mode)
    assert not tracing.enabled()

"""Canary: a planted API key/secret appears in no log, topic message, table row, error or repr.

The key store holds a distinctive key and secret; the venue runs every error path
(429, 418, timeout, 5xx after send, unknown → quarantine, rejection, cancel-all) with
DEBUG logging captured; the resulting events, fills and alerts go to a real Kafka topic
and into a ClickHouse table; then every text is searched for the canary. (The fake
exchange receives the key and signatures by design: it is the venue, not a log.)
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import orjson
import pytest
from clickhouse_connect.driver.client import Client

from tapewire.connectors.live.limiter import VenueRateLimiter
from tapewire.connectors.orders.ccxt_venue import CcxtVenue, CcxtVenueConfig, CcxtVenueError
from tapewire.connectors.orders.keys import KeyStore
from tapewire.core.records import TypedRecord
from tapewire.runtime.kafka_io import produce_all
from tapewire.testing.fake_exchange.private import FakeBinancePrivate, PrivateFault
from tests.factories.ccxt_venue import ccxt_request
from tests.fixtures.kafka import TopicFactory, consume_n

CANARY_KEY = "CANARY-KEY-7f3a0c9e51d2"
CANARY_SECRET = "CANARY-SECRET-2b6d8e4f17a0"
MARK = "CANARY"


def _json(record: TypedRecord) -> bytes:
    return orjson.dumps(record.to_dict(), default=str)


async def _error_paths(store_path: Path, errors: list[str]) -> tuple[list[TypedRecord], str]:
    creds = KeyStore.open(store_path, "canary passphrase").get("binance", "main")
    records: list[TypedRecord] = []
    async with FakeBinancePrivate(api_key=CANARY_KEY, secret=CANARY_SECRET) as fake:
        config = CcxtVenueConfig(
            venue="binance",
            account="main",
            rest_base_url=fake.rest_url,
            timeout_ms=400,
            reconcile_delay_s=0.05,
        )
        venue = CcxtVenue(
            config,
            creds,
            venue_limiter=VenueRateLimiter("binance"),
            key_limiter=VenueRateLimiter("binance#main"),
        )
        async with venue:
            fake.faults.extend(
                [
                    PrivateFault("status", status=429, retry_after="0.2"),
                    PrivateFault("status", status=418, retry_after="0.2"),
                ]
            )
            outs = [await venue.submit(ccxt_request("cn-rl"))]
            fake.faults.append(PrivateFault("hang_after_accept", hang_s=1))
            outs.append(await venue.submit(ccxt_request("cn-to")))
            fake.faults.append(PrivateFault("status_after_accept", status=503))
            outs.append(await venue.submit(ccxt_request("cn-5xx")))
            fake.faults.append(PrivateFault("hang_before_accept", hang_s=1))
            outs.append(await venue.submit(ccxt_request("cn-lost")))
            outs.append(await venue.submit(ccxt_request("cn-small", qty="0.00001")))  # rejected
            fake.faults.append(PrivateFault("status", status=400))
            outs.append(await venue.submit(ccxt_request("cn-400")))
            outs.append(await venue.cancel_all())
            text = repr(venue) + str(venue) + repr(creds) + str(creds) + repr(venue.orders)
            assert len(fake.orders) == 3  # rl, to, 5xx; lost never arrived; 400 refused
        for out in outs:
            records += [*out.events, *out.fills, *out.alerts]
    # a start-up failure: the venue's error text
    closed = CcxtVenueConfig(venue="binance", account="main", rest_base_url=fake.rest_url)
    try:
        async with CcxtVenue(closed, creds, venue_limiter=VenueRateLimiter("binance")):
            pass
    except CcxtVenueError as exc:
        errors.append(str(exc))
        errors.append(repr(exc))
    return records, text


@pytest.mark.integration
def test_canary_key_in_no_log_topic_row_error_or_repr(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    kafka_bootstrap: str,
    kafka_topic: TopicFactory,
    clickhouse: Client,
) -> None:
    store_path = tmp_path / "keys.json"
    store = KeyStore.create(store_path, "canary passphrase", scrypt_n=2**10)
    store.put("binance", "main", api_key=CANARY_KEY, secret=CANARY_SECRET)
    store.save()

    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    records, reprs = asyncio.run(asyncio.wait_for(_error_paths(store_path, errors), 60))

    # the paths ran and said what happened
    codes = {r.get("code") for r in records if "alert_id" in r}
    assert "ORDER_QUARANTINED" in codes
    texts = " | ".join(str(r.get("text")) for r in records if "event_id" in r)
    for needle in ("timed out", "HTTP 503", "reconciled", "quarantined", "below minimum"):
        assert needle in texts
    assert errors
    assert "cannot load markets" in errors[0]
    # ccxt logged signed requests (with the API-key header) at DEBUG: redacted
    assert any("X-MBX-APIKEY" in r.getMessage() for r in caplog.records)

    # to Kafka and back
    topic = kafka_topic("canary")
    produce_all(kafka_bootstrap, topic, [(b"binance:BTC-USDT-SPOT", _json(r)) for r in records])
    messages = consume_n(kafka_bootstrap, topic, len(records))
    # into ClickHouse
    clickhouse.command(
        "CREATE TABLE canary_records (kind String, body String) ENGINE = MergeTree ORDER BY kind"
    )
    rows = [["alert" if "alert_id" in r else "other", _json(r).decode()] for r in records]
    clickhouse.insert("canary_records", rows, column_names=["kind", "body"])
    stored = clickhouse.query("SELECT count() FROM canary_records").result_rows[0][0]
    assert stored == len(records) > 0
    leaked_rows = clickhouse.query(
        "SELECT count() FROM canary_records WHERE positionCaseInsensitive(body, %(m)s) > 0",
        parameters={"m": MARK},
    ).result_rows[0][0]
    assert leaked_rows == 0

    haystacks = {
        "log": "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records),
        "log_text": caplog.text,
        "topic": b"\n".join((m.value or b"") + (m.key or b"") for m in messages).decode(),
        "errors": "\n".join(errors),
        "repr": reprs,
    }
    for where, haystack in haystacks.items():
        for secret in (CANARY_KEY, CANARY_SECRET, MARK):
            assert secret not in haystack, f"canary {secret!r} found in {where}"

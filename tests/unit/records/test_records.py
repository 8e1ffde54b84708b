"""Typed records stay in step with their Avro schemas, and cross the codec exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, get_type_hints

import msgspec
import pytest

from tapewire.core.errors import SchemaError
from tapewire.core.records import TypedRecord
from tapewire.records.catalog import RECORD_TYPES
from tapewire.records.market import BookUpdate, PriceLevel, Trade
from tapewire.records.orders import OrderRequest
from tapewire.records.risk import RiskDecision
from tapewire.schemas.codec import Codec
from tapewire.schemas.loading import SCHEMA_DIR

PY_OF_AVRO = {
    "string": str,
    "long": int,
    "int": int,
    "boolean": bool,
    "bytes": bytes,
}


def _schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        schema = json.loads(path.read_text())
        if schema["type"] == "record":
            out[f"{schema['namespace']}.{schema['name']}"] = schema
    return out


def test_every_record_schema_has_a_class() -> None:
    assert sorted(RECORD_TYPES) == sorted(_schemas())


def _expected_type(avro: Any, enums: set[str]) -> str:
    """A short description of the Python type a field of Avro type ``avro`` must have."""
    if isinstance(avro, list):
        branches = [b for b in avro if b != "null"]
        return _expected_type(branches[0], enums) + (" | None" if "null" in avro else "")
    if isinstance(avro, dict):
        if avro.get("logicalType") == "decimal":
            return "Decimal"
        if avro["type"] == "array":
            return f"seq[{_expected_type(avro['items'], enums)}]"
        if avro["type"] == "map":
            values = _expected_type(avro["values"], enums)
            return "dict[str]" if values == "str" else f"dict[str, {values}]"
        return _expected_type(avro["type"], enums)
    if avro in PY_OF_AVRO:
        return PY_OF_AVRO[avro].__name__
    return "str" if avro in enums else avro  # a named record: its class name


def _actual_type(hint: Any) -> str:
    text = str(hint).replace("typing.", "").replace("collections.abc.", "")
    text = text.replace("decimal.Decimal", "Decimal").replace("<class '", "").replace("'>", "")
    text = text.replace("tapewire.records.orders.", "").replace("tapewire.records.market.", "")
    text = text.replace("Sequence[", "seq[").replace("dict[str, str]", "dict[str]")
    return text.replace("Optional[", "").rstrip("]") if "Optional" in text else text


@pytest.mark.parametrize("full", sorted(RECORD_TYPES))
def test_fields_names_order_types_and_defaults_match_the_schema(full: str) -> None:
    schemas = _schemas()
    enums = {
        json.loads(p.read_text())["name"]
        for p in SCHEMA_DIR.glob("*.avsc")
        if json.loads(p.read_text())["type"] == "enum"
    }
    schema = schemas[full]
    cls = RECORD_TYPES[full]
    assert cls.__struct_fields__ == tuple(f["name"] for f in schema["fields"])
    hints = get_type_hints(cls)
    info = {f.name: f for f in msgspec.structs.fields(cls)}
    for field in schema["fields"]:
        name = field["name"]
        assert _actual_type(hints[name]) == _expected_type(field["type"], enums), name
        if "default" in field:
            got = info[name].default
            if got is msgspec.NODEFAULT:
                got = info[name].default_factory()
            assert got == field["default"] or (got == () and field["default"] == []), name
        else:
            assert info[name].required, name


def _trade(**changes: Any) -> Trade:
    fields: dict[str, Any] = {
        "venue": "binance",
        "instrument": "binance:BTC-USDT",
        "trade_id": "1",
        "price": Decimal("0.00000812"),
        "size": Decimal("12.5"),
        "side": "BUY",
        "receive_ts_ns": 1,
        "process_ts_ns": 2,
    }
    fields.update(changes)
    return Trade(**fields)


def test_a_typed_record_round_trips_exactly_and_equals_its_dict_encoding() -> None:
    codec = Codec()
    trade = _trade()
    value = codec.encode("md.trades", trade)
    assert value == codec.encode("md.trades", trade.to_dict())
    back = codec.read("md.trades", value)
    assert isinstance(back, Trade)
    assert back.price == Decimal("0.00000812")
    assert back.size == Decimal("12.5")
    assert codec.key("md.trades", trade) == b"binance:binance:BTC-USDT"


def test_nested_records_round_trip() -> None:
    codec = Codec()
    book = BookUpdate(
        venue="kraken",
        instrument="kraken:BTC-USD",
        kind="SNAPSHOT",
        bids=(PriceLevel(price=Decimal("100.5"), size=Decimal("1")),),
        asks=[PriceLevel(price=Decimal("101"), size=Decimal("0.25"))],
        receive_ts_ns=5,
        process_ts_ns=6,
    )
    back = codec.read("md.book", codec.encode("md.book", book))
    assert isinstance(back, BookUpdate)
    assert back.bids[0] == PriceLevel(price=Decimal("100.5"), size=Decimal("1"))
    request = OrderRequest(
        client_order_id="c1",
        account="acct",
        venue="paper",
        instrument="paper:BTC-USD",
        side="BUY",
        order_type="LIMIT",
        time_in_force="GTC",
        quantity=Decimal("1"),
        limit_price=Decimal("100"),
        requested_by="test",
        request_ts_ns=1,
    )
    decision = RiskDecision(
        decision_id="d1",
        client_order_id="c1",
        account="acct",
        decision="APPROVED",
        decision_ts_ns=2,
        request=request,
    )
    back_decision = codec.read("oms.approved", codec.encode("oms.approved", decision))
    assert isinstance(back_decision, RiskDecision)
    assert back_decision.request == request


def test_a_bad_typed_record_names_the_field_and_value() -> None:
    codec = Codec()
    with pytest.raises(SchemaError) as caught:
        codec.encode("md.trades", _trade(price=Decimal("1e-30")))
    assert "price" in str(caught.value)
    assert "1E-30" in str(caught.value).upper()
    with pytest.raises(SchemaError) as wrong_enum:
        codec.encode("md.trades", _trade(side="LONG"))
    assert "side" in str(wrong_enum.value)
    assert "LONG" in str(wrong_enum.value)


def test_a_record_of_another_type_is_refused_by_field() -> None:
    codec = Codec()
    with pytest.raises(SchemaError) as caught:
        codec.encode("md.quotes", _trade())
    assert "connection_id" in str(caught.value)
    assert "is not a field of" in str(caught.value)


def test_records_are_frozen_read_only_mappings() -> None:
    trade = _trade()
    assert isinstance(trade, TypedRecord)
    assert trade["price"] == trade.price
    assert trade.get("nope", 7) == 7
    assert dict(trade)["trade_id"] == "1"
    assert "venue" in trade
    assert len(trade) == 11
    with pytest.raises(KeyError):
        trade["nope"]
    with pytest.raises(KeyError):
        trade[0]  # type: ignore[index]
    with pytest.raises(AttributeError):
        trade.price = Decimal(2)  # type: ignore[misc]
    assert trade.replace(size=Decimal(3)).size == Decimal(3)
    assert trade.size == Decimal("12.5")

"""Simulator frames become RawFrame records that the normalizer turns into the ground truth."""

from __future__ import annotations

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer


def test_raw_frames_encode_and_normalize_to_the_ground_truth() -> None:
    sim = MarketSimulator(SimConfig(seed=3, n_frames=3000))
    serde = Codec().for_topic("md.raw")
    records = [serde.decode(serde.encode(r)) for r in raw_frames(sim.frames())]
    assert {r["origin"] for r in records} == {"SIMULATOR"}
    by_connection: dict[str, list[int]] = {}
    for record in records:
        by_connection.setdefault(record["connection_id"], []).append(record["sequence"])
        assert (record["transport"] == "REST") == (record["rest_url"] is not None)
        if record["rest_url"] is not None:
            assert record["rest_url"].startswith("https://")
    assert all(seq == list(range(len(seq))) for seq in by_connection.values())

    result = Normalizer().process_batch(records)
    truth = sim.ground_truth.trades()
    assert len(result["md.trades"]) == len(truth)
    assert result["dlq.normalize"] == []
    got = {(t["venue"], t["trade_id"]): (t["price"], t["size"]) for t in result["md.trades"]}
    for expected in truth:
        assert got[(expected.venue, expected.trade_id)] == (expected.price, expected.amount)

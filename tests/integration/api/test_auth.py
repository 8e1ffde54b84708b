"""Negative auth tests against the API over chDB: no token, expired token, wrong role,
another account's order, brute-force logins and per-token limits; every request audited."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import jwt
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from tapewire.api.tokens import ALGORITHM, ISSUER
from tests.integration.api.conftest import SECRET, login, wait_for
from tests.integration.api.seed import seed_trading


def test_no_token_is_401_with_a_bearer_challenge(read_only_api: TestClient) -> None:
    for path in ("/v1/me", "/v1/orders", "/v1/positions", "/v1/export/fills.csv"):
        response = read_only_api.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "no bearer token" in response.json()["detail"]
    garbage = read_only_api.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert garbage.status_code == 401
    assert "invalid token" in garbage.json()["detail"]


def test_expired_and_forged_tokens_are_401(read_only_api: TestClient) -> None:
    now = int(time.time())
    claims = {"sub": "admin", "role": "risk_admin", "jti": "x" * 32, "iss": ISSUER}
    expired = jwt.encode(claims | {"iat": now - 7200, "exp": now - 3600}, SECRET, ALGORITHM)
    response = read_only_api.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["detail"].startswith("token expired")
    forged = jwt.encode(claims | {"iat": now, "exp": now + 60}, "f" * 40, ALGORITHM)
    response = read_only_api.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "Signature verification failed" in response.json()["detail"]
    valid = jwt.encode(claims | {"iat": now, "exp": now + 60}, SECRET, ALGORITHM)
    response = read_only_api.get("/v1/me", headers={"Authorization": f"Bearer {valid}"})
    assert response.status_code == 200
    assert response.json()["accounts"] == ["*"]


def test_wrong_role_is_403(read_only_api: TestClient) -> None:
    viewer = login(read_only_api, "viewer")
    trader = login(read_only_api, "trader")
    order = {
        "account": "desk",
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "side": "buy",
        "order_type": "limit",
        "quantity": "0.01",
        "limit_price": "64000",
    }
    response = read_only_api.post("/v1/orders", json=order, headers=viewer)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("role viewer may not do this (needs trader)")
    response = read_only_api.post("/v1/kill-switch", json={"state": "on"}, headers=trader)
    assert response.status_code == 403
    assert "needs risk_admin" in response.json()["detail"]
    response = read_only_api.delete("/v1/orders/o-desk-1?account=desk", headers=viewer)
    assert response.status_code == 403


def test_another_accounts_order_is_403_by_account_and_404_by_id(
    read_only_api: TestClient, clickhouse: Client
) -> None:
    seed_trading(clickhouse)
    trader = login(read_only_api, "trader")
    mine = read_only_api.get("/v1/orders/o-desk-1?account=desk", headers=trader)
    assert mine.status_code == 200, mine.text
    assert mine.json()["status"] == "PARTIALLY_FILLED"
    assert mine.json()["order"]["cum_qty"] == "0.00000812"
    theirs = read_only_api.get("/v1/orders/o-other-1?account=other", headers=trader)
    assert theirs.status_code == 403
    assert "'other' is not one of user 'trader'" in theirs.json()["detail"]
    hidden = read_only_api.get("/v1/orders/o-other-1?account=desk", headers=trader)
    assert hidden.status_code == 404
    cancel = read_only_api.delete("/v1/orders/o-other-1?account=other", headers=trader)
    assert cancel.status_code == 403
    # lists hold the caller's accounts only; the admin sees both
    listed = read_only_api.get("/v1/fills", headers=trader).json()
    assert [f["account"] for f in listed] == ["desk"]
    assert read_only_api.get("/v1/positions?account=other", headers=trader).status_code == 403
    admin = login(read_only_api, "admin")
    both = read_only_api.get("/v1/orders", headers=admin).json()
    assert sorted(o["client_order_id"] for o in both) == ["o-desk-1", "o-other-1"]


def test_brute_force_login_is_rate_limited(read_only_api: TestClient) -> None:
    codes = [
        read_only_api.post(
            "/v1/auth/token", json={"username": "trader", "password": f"guess-{i}"}
        ).status_code
        for i in range(7)
    ]
    assert codes == [401] * 5 + [429] * 2
    refused = read_only_api.post(
        "/v1/auth/token", json={"username": "trader", "password": "trader-password-1"}
    )
    assert refused.status_code == 429  # even the right password, until the window refills
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_token_over_its_rate_limit_gets_429(read_only_api: TestClient) -> None:
    viewer = login(read_only_api, "viewer")
    codes = [read_only_api.get("/v1/me", headers=viewer).status_code for _ in range(55)]
    assert codes.count(200) == 50  # burst of the fixture's config
    assert codes[50:] == [429] * 5
    other = login(read_only_api, "trader")  # another token: its own bucket
    assert read_only_api.get("/v1/me", headers=other).status_code == 200


def test_every_request_is_audited_in_clickhouse(
    read_only_api: TestClient, clickhouse: Client
) -> None:
    trader = login(read_only_api, "trader")
    assert read_only_api.get("/v1/orders/x?account=other", headers=trader).status_code == 403
    assert read_only_api.get("/v1/me").status_code == 401
    ok = read_only_api.get("/v1/me", headers=trader)
    request_id = ok.headers["X-Request-ID"]

    def rows() -> list[Sequence[Any]]:
        return list(
            clickhouse.query(
                "SELECT user, role, method, route, status, detail, request_id FROM api_audit "
                "ORDER BY ts"
            ).result_rows
        )

    wait_for(lambda: len(rows()) == 4)
    token, denied, anonymous, me = rows()
    assert token[:5] == ("", "", "POST", "/v1/auth/token", 200)
    assert denied[:5] == ("trader", "trader", "GET", "/v1/orders/{client_order_id}", 403)
    assert "not one of user 'trader'" in str(denied[5])
    assert anonymous[:5] == ("", "", "GET", "/v1/me", 401)
    assert me[4] == 200
    assert me[6] == request_id

-- 0007_api_audit: one row per API request (tapewire run api; docs/api.md, Audit).
--
-- Written by the API process itself (batched inserts, about once a second), not from
-- Kafka: the audit trail of who asked what, including refused and failed requests.
-- Append-only MergeTree; ORDER BY (user, ts) serves "what did this user do" queries.

CREATE TABLE IF NOT EXISTS api_audit
(
    request_id String COMMENT 'random id, also sent back as the X-Request-ID header',
    ts DateTime64(9, 'UTC') COMMENT 'when the request arrived',
    user LowCardinality(String) COMMENT 'authenticated user; empty when not authenticated',
    role LowCardinality(String) COMMENT 'viewer, trader, risk_admin; empty when unknown',
    token_id String COMMENT 'jti of the token used; empty without one',
    client String COMMENT 'client address',
    method LowCardinality(String) COMMENT 'GET, POST, DELETE, WS',
    path String COMMENT 'request path, without the query string',
    route LowCardinality(String) COMMENT 'route template, e.g. /v1/orders/{client_order_id}',
    status UInt16 COMMENT 'HTTP status answered (101 for an accepted WebSocket)',
    duration_us UInt64 COMMENT 'time to answer',
    detail String COMMENT 'error detail, or what was done (e.g. the client order id sent)'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (user, ts, request_id)
COMMENT 'API requests, one row each, written by the API (audit trail)';

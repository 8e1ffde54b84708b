"""The authenticated HTTP/WebSocket API (``tapewire run api``): a thin FastAPI shell over
pure, typed parts.

- :mod:`~tapewire.api.users`, :mod:`~tapewire.api.tokens`, :mod:`~tapewire.api.ratelimit`:
  who the caller is (argon2 passwords, JWTs with expiry, roles, accounts) and how often
  they may call;
- :mod:`~tapewire.api.orders`: OrderRequests built from validated input and produced to
  ``oms.requests`` (the risk gate decides; the API never talks to a venue);
- :mod:`~tapewire.api.queries`, :mod:`~tapewire.api.reader`: parameterised ClickHouse reads
  (no caller-provided SQL), :mod:`~tapewire.api.csv_export` for history exports;
- :mod:`~tapewire.api.events`: ``oms.events`` / ``oms.fills`` fanned out to WebSockets;
- :mod:`~tapewire.api.audit`: one audit record per request (ClickHouse ``api_audit``);
- :mod:`~tapewire.api.app`: the routes; :mod:`~tapewire.api.server`: uvicorn.

See ``docs/api.md``.
"""

"""The notifier's shell: alerts from Kafka delivered over HTTP (webhooks) and SMTP.

``webhook.py`` and ``smtp.py`` make one delivery attempt each and classify failures
(retry or give up); ``dispatch.py`` runs the pure core of :mod:`tapewire.streams.notify`
(de-duplication, routing, rendering, retries) over them; ``role.py`` is the ``notifier``
role: a consumer group over ``alerts`` (and ``md.coverage``, ``oms.fills``,
``positions``), committing after every delivery of a batch is settled, with a
``dlq.notifier`` record for each delivery that failed for good. See
``docs/notifications.md``.
"""

"""Alert delivery: rendering, the e-mail and push channels, and the outbox retry policy.

Modules (import the one you need; this package imports nothing heavy by itself):

- :mod:`alerts.delivery.policy` - pure: delivery states, backoff, give-up, notify window,
  idempotency keys, the :class:`~alerts.delivery.policy.Channel` protocol.
- :mod:`alerts.delivery.render` - an alert as an e-mail (text + HTML) or a push.
- :mod:`alerts.delivery.email` - :class:`EmailSettings`, :class:`EmailChannel` (smtplib).
- :mod:`alerts.delivery.push` - :class:`PushChannel` (apprise URLs).
- :mod:`alerts.delivery.channels` - :func:`build_channels` from the ``[alerts]`` settings.
- :mod:`alerts.delivery.selftest` - the harmless alert of ``loadmon alerts test``.
"""

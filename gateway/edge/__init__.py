"""The edge: what every request meets before any route. The ASGI middleware (request id,
metrics, the access log) and its checks: API keys, browser origins, and the throttle on
wrong keys. Nothing here knows workers or forwarding."""

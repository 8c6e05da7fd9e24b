"""The HTTP/1.1 client to the workers: pooled kept-alive connections (`upstream.py`), each
one an asyncio protocol parsed by httptools (`connection.py`). It knows no backend, route or
error shape; the proxy and the workers' health checks both talk through it."""

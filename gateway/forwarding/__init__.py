"""The forwarding path: the fast lane that takes `POST /exec` and `/jobs` past FastAPI's
routing, the description of one forwarded request (`Forward`), the proxy that sends it to
the worker it is given and relays the answer, and in `wire/` the HTTP/1.1 client beneath.
Choosing the worker is not done here: the gateway (core.py) does it with workers/choice.py."""

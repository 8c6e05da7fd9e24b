"""Serving HTTP: uvicorn's httptools protocol as the gateway runs it (protocol.py), with an
answer's head and body in one write (joined_writes.py), one keep-alive timer per connection
(idle_timer.py), and the lane that answers `POST /exec` and `/jobs` beneath ASGI with the
edge's and the routes' own steps (lane.py). Every other request goes through ASGI to the app."""

"""The application: routing, guards (Host, Origin, token), CORS, and the route handlers,
which delegate to the service. Connections call `App`; nothing here reads a socket."""

"""uvicorn's keep-alive timeout, with one timer per connection instead of one per request.

uvicorn closes a kept-alive connection that stays idle timeout_keep_alive seconds after an
answer: it starts a timer when an answer is complete and stops it when the next bytes
arrive, a timer made and cancelled for every request (about 2 µs of the loop's time each,
more once the caches are cold). Here a connection notes when it fell idle; a timer, started
when none runs, looks when it runs out: it closes a connection idle for the whole timeout,
waits the rest for one idle since less, and leaves a busy one to the next answer."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class IdleTimer(HttpToolsProtocol):
    # When the connection fell idle (the loop's clock), None while a request is under way.
    _idle_since: float | None = None

    def _unset_keepalive_if_required(self) -> None:
        # Bytes arrived (or the connection ends): busy. A running timer is left to look.
        self._idle_since = None

    def on_response_complete(self) -> None:
        # uvicorn's, but for its timer.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                                self.timeout_keep_alive_handler)

    def timeout_keep_alive_handler(self) -> None:
        self.timeout_keep_alive_task = None
        if self._idle_since is None:
            return  # busy: its answer starts the timer again
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self.timeout_keep_alive_handler)
        elif not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

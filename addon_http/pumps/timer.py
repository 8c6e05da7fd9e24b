"""The GUI pump: a persistent bpy.app.timers function that runs queued jobs on every turn
of Blender's event loop.

An idle event loop sleeps 5 ms per turn, so a job waits up to that long. While jobs
keep coming, the pump adds a window-manager timer that fires on every turn: a turn
with a timer event does not sleep, and the next job waits well under a millisecond.
The timer goes away LINGER_S after the last job, and the loop sleeps again.

Changes made from a timer push no undo step by themselves: after each job that may have
changed the scene the pump pushes one, named after the job ("HTTP: exec <job>"), so the
person at the desk undoes exactly what one call did with one Ctrl-Z. A step is pushed
before the next job runs, or UNDO_AFTER_S after its job when none waits. Pushing one saves
the whole file to memory (a quarter of a second with a million-vertex mesh) and holds
Python's lock meanwhile: the wait lets the job's answer go out first.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import bpy
from bpy.app.handlers import persistent

from ..jobs import job as jobs
from ..jobs.interrupt import JobInterrupt
from ..service import Service

log = logging.getLogger("blender_http")

# A timer call runs queued jobs for at most this long, so the interface stays responsive.
BUDGET_S = 0.05
LINGER_S = 0.25
UNDO_AFTER_S = 0.02
# Server tasks that change the scene; the others (listings, renders, exports) put back
# whatever they touch, and an undo step for them would only bury the user's own.
CHANGING_TASKS = frozenset({"import"})


class TimerPump:
    def __init__(self, service: Service) -> None:
        self.service = service
        self._tick_fn = self._tick  # one bound-method object, so is_registered finds it
        self._on_load_fn = persistent(lambda *args: self._on_load())
        self._awake: Any = None  # the window-manager timer that keeps the loop from sleeping
        self._last_job = 0.0
        # The last job run, whose undo step is not pushed yet, and when it ended.
        self._undo_due: tuple[jobs.Job, float] | None = None

    @property
    def awake(self) -> bool:
        return self._awake is not None

    def attach(self) -> None:
        bpy.app.timers.register(self._tick_fn, first_interval=0.0, persistent=True)
        # Loading a file may replace the windows the keep-awake timer belongs to.
        bpy.app.handlers.load_pre.append(self._on_load_fn)

    def detach(self) -> None:
        self._release()
        if bpy.app.timers.is_registered(self._tick_fn):
            bpy.app.timers.unregister(self._tick_fn)

    def _release(self) -> None:
        self._sleep()
        if self._on_load_fn in bpy.app.handlers.load_pre:
            bpy.app.handlers.load_pre.remove(self._on_load_fn)

    def _on_load(self) -> None:
        self._undo_due = None  # its step belongs to the file being replaced
        self._sleep()

    def _tick(self) -> float | None:
        service = self.service
        if service.should_exit.is_set():
            try:
                self._push_due()  # the last call's step, before the pump goes
            except Exception:
                log.exception("blender-http pump")
            self._release()  # returning None unregisters this timer
            _redraw_sidebars()  # the panel says Stopped now, not at the next redraw
            # stop() waits for in-flight answers: not on the thread that draws the UI.
            threading.Thread(target=service.stop, daemon=True).start()
            return None
        try:
            self._push_due(waited=UNDO_AFTER_S)
            ran = False
            deadline = time.perf_counter() + BUDGET_S
            while time.perf_counter() < deadline and len(service.queue):
                self._push_due()  # before the next job: its changes are a step of their own
                job = service.run_next(0)
                if job is None:
                    break
                ran = True
                self._undo_due = (job, time.perf_counter())
            now = time.perf_counter()
            if ran:
                self._last_job = now
                self._wake()
            elif self._awake is not None and now - self._last_job > LINGER_S:
                self._sleep()
        except JobInterrupt:  # an interrupt that arrived after its job ended
            pass
        except Exception:  # an exception would unregister this timer for good
            log.exception("blender-http pump")
        return 0.0

    def _push_due(self, waited: float = 0.0) -> None:
        """Pushes the due undo step, if its job ended at least `waited` seconds ago."""
        if self._undo_due is not None and time.perf_counter() - self._undo_due[1] >= waited:
            job, self._undo_due = self._undo_due[0], None
            _push_undo(job)

    def _wake(self) -> None:
        if self._awake is None:
            wm = bpy.context.window_manager
            if wm is not None and wm.windows:
                self._awake = wm.event_timer_add(0.0, window=wm.windows[0])

    def _sleep(self) -> None:
        if self._awake is not None:
            timer, self._awake = self._awake, None
            wm = bpy.context.window_manager
            if wm is not None:
                wm.event_timer_remove(timer)


def _push_undo(job: jobs.Job) -> None:
    """One named undo step for a job that may have changed the scene."""
    task = job.work.task_name
    if task is not None and task not in CHANGING_TASKS:
        return
    try:
        bpy.ops.ed.undo_push(message=f"HTTP: {task or 'exec'} {job.id}")
    except RuntimeError:  # no undo stack to push to (e.g. while a modal operator runs)
        log.debug("no undo step for job %s", job.id, exc_info=True)


def _redraw_sidebars() -> None:
    """Redraw every 3D view (its sidebar holds the server's panel): a stop that came over
    HTTP (`blender-http stop --url`) changes no property Blender would redraw for."""
    try:
        for window in bpy.context.window_manager.windows:
            for area in window.screen.areas:
                if area.type == "VIEW_3D":
                    area.tag_redraw()
    except (AttributeError, RuntimeError):  # no window manager (quitting)
        pass

"""The N-panel in a real GUI Blender: before Start it says where the server will listen;
drawn by Blender's own panel code with a layout that records what it is told to show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing

pytestmark = [pytest.mark.blender, pytest.mark.timeout(180)]

DRAW = """
import types
import blender_http_addon.gui as gui

class Recorder:
    def __init__(self):
        self.shown = []
    def label(self, text='', **_):
        self.shown.append(text)
    def operator(self, idname, **_):
        self.shown.append('operator ' + idname)
    def prop(self, _data, name, **_):
        self.shown.append('prop ' + name)

def draw():
    panel = types.SimpleNamespace(layout=Recorder())
    gui.BLENDER_HTTP_PT_panel.draw(panel, C)
    return panel.layout.shown

running = draw()
saved, gui._running = gui._running, None  # the panel as it is before Start is pressed
try:
    stopped = draw()
finally:
    gui._running = saved
{'running': running, 'stopped': stopped}
"""


@pytest.fixture(scope="module")
def gui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    reason = servers.availability("gui")
    if reason:
        missing(reason)
    running = servers.start("gui", Path(tmp_path_factory.mktemp("gui-panel")))
    yield running
    running.stop()


def test_the_panel_says_where_start_listens_before_it_is_pressed(gui: servers.Running) -> None:
    shown = httpx.post(gui.url + "/exec", json={"code": DRAW}, timeout=60).json()["result"]
    assert gui.url in shown["running"] and "operator blender_http.stop" in shown["running"]
    assert shown["stopped"][0] == "Stopped"
    assert shown["stopped"][1].startswith("Start listens on 127.0.0.1:")
    assert shown["stopped"][-1] == "operator blender_http.start"

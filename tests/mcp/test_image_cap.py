"""Images for a model are shrunk until their PNG fits the byte cap (scene/agent.fit_png),
checked inside a real Blender with a cap small enough to force it."""

from __future__ import annotations

from tests.blender import servers

CODE = """
import os
from blender_http_addon.scene import agent, render
from blender_http_addon.scene.render_options import RenderOptions

path = os.path.join(WORKDIR, "cap", "full.png")
done = render.render_png(RenderOptions(engine="BLENDER_WORKBENCH", width=320, height=240), path,
                         lambda **kw: None)
fits = agent.fit_png(dict(done), path, os.path.join(WORKDIR, "cap", "small.png"), args["cap"])
kept = agent.fit_png(dict(done), path, os.path.join(WORKDIR, "cap", "same.png"), 10**9)
{"full": os.path.getsize(path), "fits": fits, "kept": kept}
"""


def test_a_png_over_the_cap_is_halved_until_it_fits(module_server: servers.Running) -> None:
    with module_server.client() as client:
        full = client.post("/exec", json={"code": CODE, "args": {"cap": 10**9}}).json()["result"]["full"]
        cap = full // 3
        answer = client.post("/exec", json={"code": CODE, "args": {"cap": cap}}).json()
    assert answer["ok"], answer
    fits, kept = answer["result"]["fits"], answer["result"]["kept"]
    assert fits["image_bytes"] <= cap and fits["image_width"] < 320
    assert fits["image_width"] / fits["image_height"] == 320 / 240
    assert (kept["image_width"], kept["image_height"]) == (320, 240) and kept["image"].endswith("full.png")

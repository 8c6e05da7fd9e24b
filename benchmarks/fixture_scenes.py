"""Fixture scenes for MCP answers, built in a live Blender by exec_python code: empty, a
default one (cube, camera, light), many objects, and one mesh of many vertices (these two
with a camera, so that they render)."""

from __future__ import annotations

CLEAR = """
for obj in list(D.objects):
    D.objects.remove(obj)
for mesh in list(D.meshes):
    if mesh.users == 0:
        D.meshes.remove(mesh)
"""

CAMERA = """
camera = D.objects.new('Camera', D.cameras.new('Camera'))
camera.location, camera.rotation_euler = (7.4, -6.5, 5.3), (1.11, 0, 0.81)
C.scene.collection.objects.link(camera)
C.scene.camera = camera
"""

DEFAULT = CLEAR + CAMERA + """
bpy.ops.mesh.primitive_cube_add()
bpy.ops.object.light_add(type='POINT', location=(4.1, 1.0, 5.9))
"""

MANY = CLEAR + CAMERA + """
mesh = D.meshes.new('Shared')
mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
for i in range(args['count']):
    obj = D.objects.new(f'Object.{i:04d}', mesh)
    obj.location = (i % 40, i // 40, 0)
    C.scene.collection.objects.link(obj)
    obj.select_set(True)
C.view_layer.objects.active = obj
"""

DENSE = CLEAR + CAMERA + """
import numpy as np
mesh = D.meshes.new('Dense')
mesh.vertices.add(args['vertices'])
co = np.random.default_rng(1).random(args['vertices'] * 3, dtype=np.float32)
mesh.vertices.foreach_set('co', co)
mesh.update()
obj = D.objects.new('Dense', mesh)
C.scene.collection.objects.link(obj)
C.view_layer.objects.active = obj
obj.select_set(True)
"""


def fixtures(objects: int, vertices: int) -> list[tuple[str, str, dict[str, int]]]:
    """(name, code, args) of each fixture scene, at these sizes."""
    return [("empty", CLEAR, {}), ("default", DEFAULT, {}),
            (f"{objects:,} objects", MANY, {"count": objects}),
            (f"{vertices:,}-vertex mesh", DENSE, {"vertices": vertices})]

"""Benchmarks of blender-http against baselines, side by side in one run (`python -m benchmarks.run`)."""

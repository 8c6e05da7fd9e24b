"""The async client, written by hand: AsyncBlender (client.py), AsyncJob and AsyncSession
(handles.py), and the task runner behind AsyncBlender.map (batch_runner.py). Each sends what
the core builds (calls.py) and reads its answers with the core; no request logic lives here.

_sync/ is generated from this folder by scripts/unasync.py, except batch_runner.py."""

"""Blender workers on a Ray cluster (the `[ray]` extra): `map(..., on="ray://…")` and
`blender-http batch --on ray://…`.

    target.py   what `on=` names: the cluster, and what each Blender worker asks of a node
    worker.py   the Ray actor: one Blender on loopback with a private token, restarted when it dies
    pool.py     the driver's side: the actors, which one is idle, growing with the cluster

Nothing here is imported unless `on=` names a Ray cluster, and Ray itself only inside
RayPool.connect and the actor, so the client works without the extra."""

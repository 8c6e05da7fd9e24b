"""What `on="ray://…"` names: the Ray cluster to connect to, and what each Blender worker
asks of a node. No Ray import: a wrong address is refused before Ray loads.

    ray://auto                    the cluster this process is connected to, else ray.init("auto")
    ray://HOST:PORT               a Ray Client address (the head's client server, port 10001)
    ?mode=background              `blender -b` workers instead of module mode (bpy)
    &blender=/path/to/blender     that Blender executable (background mode)
    &cpus=1&gpus=1                the CPUs and GPUs each worker reserves on its node
    &resource=blender             a custom resource each worker takes one of ("" for none)
"""

from __future__ import annotations

import dataclasses
import math
import urllib.parse

SCHEME = "ray"
AUTO = "auto"
MODES = ("module", "background")
# The custom resource a node offers once per Blender it can hold (`ray start
# --resources='{"blender": 2}'`): how many Blenders a node runs is the operator's choice.
DEFAULT_RESOURCE = "blender"
OPTIONS = ("mode", "blender", "cpus", "gpus", "resource")


class BadTarget(ValueError):
    """`on=` is not a Ray address this client understands."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RayTarget:
    """The cluster (None: ray://auto) and the shape of each Blender worker on it."""

    address: str | None
    mode: str = "module"
    blender: str | None = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    resource: str | None = DEFAULT_RESOURCE

    @property
    def resources(self) -> dict[str, float]:
        """The custom resources one worker takes."""
        return {self.resource: 1.0} if self.resource else {}

    def demand(self) -> dict[str, float]:
        """Everything one worker reserves, by Ray's resource names."""
        wanted = {"CPU": self.num_cpus, "GPU": self.num_gpus, **self.resources}
        return {name: amount for name, amount in wanted.items() if amount > 0}

    def slots(self, cluster: dict[str, float]) -> int:
        """How many workers a cluster with these total resources holds."""
        demand = self.demand()
        if not demand:
            return 0
        return min(math.floor(cluster.get(name, 0.0) / amount + 1e-9) for name, amount in demand.items())


def is_ray(on: str) -> bool:
    """True when `on` names a Ray cluster."""
    return on.startswith(f"{SCHEME}://")


def parse(on: str) -> RayTarget:
    """The RayTarget of `ray://auto` or `ray://HOST:PORT`, with the options of the module
    docstring; BadTarget says what is wrong."""
    parts = urllib.parse.urlsplit(on)
    if parts.scheme != SCHEME or not parts.netloc:
        raise BadTarget(f"{on!r}: give ray://HOST:PORT (a Ray Client address) or ray://auto")
    if parts.path not in ("", "/") or parts.fragment:
        raise BadTarget(f"{on!r}: a Ray address has no path; options go after '?'")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(OPTIONS))
    if unknown:
        raise BadTarget(f"{on!r}: unknown option {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    option = {name: values[-1] for name, values in query.items()}
    mode = option.get("mode", "module")
    if mode not in MODES:
        raise BadTarget(f"{on!r}: mode is {' or '.join(MODES)}, not {mode!r}")
    if parts.netloc == AUTO:
        address = None
    else:
        try:
            port = parts.port
        except ValueError as exc:
            raise BadTarget(f"{on!r}: {exc}") from exc
        if not parts.hostname or port is None:
            raise BadTarget(f"{on!r}: give ray://HOST:PORT (a Ray Client address) or ray://auto")
        address = f"{SCHEME}://{parts.netloc}"
    return RayTarget(address=address, mode=mode, blender=option.get("blender") or None,
                     num_cpus=_amount(on, option, "cpus", 1.0), num_gpus=_amount(on, option, "gpus", 0.0),
                     resource=option.get("resource", DEFAULT_RESOURCE) or None)


def _amount(on: str, option: dict[str, str], name: str, default: float) -> float:
    text = option.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise BadTarget(f"{on!r}: {name} is a number of at least 0, not {text!r}")
    return value

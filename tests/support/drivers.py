"""Driver scripts and inputs the cluster tests share (run with support.cluster.run_driver)."""

from __future__ import annotations

from pathlib import Path

PICTURES = ("chelsea", "coffee", "astronaut", "rocket", "camera")

# image-decode then image-embed on the bare node, both from the hub (not installed); prints
# the vectors, the embed stage's env and what the node's env holds.
IMAGES = '''
import json, pathlib, sys
import ray
from hub import ops
from hub.pipeline import DataCollection

ray.init(address=sys.argv[1], log_to_driver=False)
files = sorted(pathlib.Path(sys.argv[2]).glob("*.png"))
decode, embed = ops.image_decode(), ops.image_embed()   # not installed: from the hub
on_bare = dict(backend="ray", num_cpus=0.5, resources={"bare": 1}, progress=False)
pipeline = (DataCollection([f.read_bytes() for f in files])
            .map(decode, **on_bare)
            .map(embed, num_worker=1, **on_bare))
vectors = pipeline.to_list()

@ray.remote(num_cpus=0.5, resources={"bare": 1})
def inspect():
    import importlib.metadata as md, os, sys, torch
    names = sorted(d.metadata["Name"].lower() for d in md.distributions())
    return {"torch": str(torch.__version__), "prefix": sys.prefix, "names": names,
            "created": os.stat(os.path.join(sys.prefix, "pyvenv.cfg")).st_mtime_ns}

# the env the embed stage ran with (what a run prepares for its resources; explain() and
# plan() only describe): Ray reuses that env
from hub.pipeline._driver import prepare
env, = [s.runtime_env for s in prepare(pipeline._steps).plan.steps if "image-embed" in s.name]
node = ray.get(inspect.options(runtime_env=env).remote())
local = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "PIL", "opshub_image_embed"))
print(json.dumps({"files": [f.stem for f in files], "vectors": [v.tolist() for v in vectors],
                  "env": env, "node": node, "driver_imported": local}))
'''


def write_pictures(folder: Path) -> Path:
    """skimage's sample pictures and a half-size copy of each, as PNG files."""
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for name in PICTURES:
        image = getattr(data, name)()
        Image.fromarray(image).save(folder / f"{name}.png")
        half = Image.fromarray(image).resize((image.shape[1] // 2, image.shape[0] // 2))
        half.save(folder / f"{name}-half.png")
    return folder


def nearest_are_originals(files: list[str], vectors: list[list[float]]) -> bool:
    """Whether each half-size copy embeds nearest its own original."""
    import numpy as np

    by_name = dict(zip(files, np.asarray(vectors)))
    originals = np.stack([by_name[n] for n in PICTURES])
    copies = np.stack([by_name[f"{n}-half"] for n in PICTURES])
    return list((copies @ originals.T).argmax(axis=1)) == list(range(len(PICTURES)))

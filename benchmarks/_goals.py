"""The targets of issue 7, worded once: sections report them, run.py lists them when one fails."""

IN_PROCESS_OVERHEAD = "in-process overhead <= 3 µs/item"
RAY_VS_RAY_DATA = "Ray throughput >= Ray Data's (best mode of each)"
EMBED_IN_PROCESS = "image-embed in-process >= 90% of the raw torch loop"
EMBED_ON_RAY = "image-embed on Ray >= 90% of the raw torch loop"
CACHED_RESOLUTION = "cached resolution < 50 ms"
HUB_INSTALL = "hub install within 1.2x of pip install"
HUB_LIST = "hub list < 0.5 s"
PAGES = "every web page < 50 ms with 200 projects"
REMOTE_FIRST_USE = "image-embed env first use within 1.5x of uv pip install of the lock"
REMOTE_SECOND_USE = "a second driver using the same env adds at most 1 s"
AIRGAP_FIRST_USE = ("image-embed env first use from the hub's mirror within 1.2x of from "
                    "PyPI/find-links")

import toolz


def toolz_version(item):
    """(item, the toolz version in this worker's env)."""
    return item, toolz.__version__

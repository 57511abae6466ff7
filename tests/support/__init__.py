"""Helpers the test folders share, imported normally (``from support.hub_server import ...``).

``tests/`` is on ``sys.path`` (pytest's ``pythonpath`` setting), so this package needs no
conftest tricks and no loading by path.
"""

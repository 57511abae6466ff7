"""Revoking the local token rotates it (#11 audit).

Before: `hub token revoke` of the token `hub serve` wrote to local-token left the file
holding a revoked token (clients on this machine got 403 until someone edited it), and
with the database and the journal lost, recovery registered it again from the file.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import main
from hub.server import (
    LOCAL_TOKEN_FILE,
    Storage,
    create_token,
    find_token,
    recover,
    write_local_token,
)
from hub.server._journal import JOURNAL_FILE


def test_revoking_the_local_token_rotates_it(tmp_path: Path) -> None:
    store = Storage(tmp_path / "st")
    old = create_token(store)
    write_local_token(store, old)
    result = CliRunner().invoke(main, ["token", "revoke", old[:13], "--storage", str(store.root)])
    assert result.exit_code == 0 and "it was the local token: wrote a new one to" in result.stdout
    path = store.root / LOCAL_TOKEN_FILE
    new = path.read_text().strip()
    assert new != old and find_token(store, new) and find_token(store, old) is None
    assert path.stat().st_mode & 0o777 == 0o600
    store.db_path.unlink()
    (store.root / JOURNAL_FILE).unlink()  # both lost: only the file is left to go by
    store, _ = recover(store.root)
    assert find_token(store, old) is None and find_token(store, new) is not None

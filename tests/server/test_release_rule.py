"""The release rule against packaging's own tag lists: two files of a version never both
install in one environment (pure; the attacks on a real hub are in
test_release_environments.py). "CPython 2.7" here is the pure-Python tags it accepts."""

from __future__ import annotations

import itertools

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms, parse_tag

from hub._dist import release_key

PLATFORMS = {  # what an installer on each kind of machine accepts, best first
    "glibc x86_64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                     "linux_x86_64"],
    "musl x86_64": ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "linux_x86_64"],
    "glibc aarch64": ["manylinux_2_28_aarch64", "manylinux2014_aarch64", "linux_aarch64"],
    "macOS arm64": list(mac_platforms((14, 0), "arm64")),
    "macOS x86_64": list(mac_platforms((14, 0), "x86_64")),
    "Windows x86_64": ["win_amd64"],
}
PYTHONS = [(2, 7), *((3, minor) for minor in range(8, 15))]
WHEEL_TAGS = [
    "py3-none-any", "py2.py3-none-any", "py2-none-any", "py38-none-any", "py312-none-any",
    "cp311-none-any", "cp311-cp311-manylinux_2_28_x86_64",
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-linux_x86_64",
    "cp311-cp311-musllinux_1_1_x86_64", "cp312-cp312-manylinux_2_28_x86_64",
    "cp38-abi3-manylinux_2_28_x86_64", "cp312-abi3-manylinux_2_28_x86_64",
    "cp311-cp311-manylinux_2_28_aarch64", "cp311-cp311-macosx_11_0_arm64",
    "cp311-cp311-macosx_10_9_x86_64", "cp311-cp311-macosx_10_9_universal2",
    "cp311-cp311-win_amd64", "py3-none-win_amd64", "py3-none-macosx_11_0_arm64",
]


def _environments() -> list[set[Tag]]:
    """The tags CPython 2.7 and 3.8 to 3.14 accept on each kind of machine (packaging's
    lists; for 2.7 only the pure-Python part)."""
    return [set(cpython_tags(python, platforms=platforms) if python[0] == 3 else ())
            | set(compatible_tags(python, f"cp{python[0]}{python[1]}", platforms))
            for python in PYTHONS for platforms in PLATFORMS.values()]


ENVIRONMENTS = _environments()


def _both_install_somewhere(a: str, b: str) -> bool:
    return any(env & parse_tag(a) and env & parse_tag(b) for env in ENVIRONMENTS)


@pytest.mark.parametrize("a, b", list(itertools.combinations(WHEEL_TAGS, 2)))
def test_two_tags_conflict_exactly_when_some_environment_installs_both(a: str, b: str) -> None:
    """Sound (never "no conflict" where an installer would pick between the two) and, on
    these tags, exact: the rule refuses nothing a real machine could not confuse."""
    conflict = release_key(f"x-1.0-{a}.whl").conflicts_with(release_key(f"x-1.0-{b}.whl"))
    assert conflict == _both_install_somewhere(a, b)

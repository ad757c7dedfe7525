"""RFC 29 hostlists (fluxout.hostlist), checked against flux's own
``flux hostlist`` where it is found (FLUXOUT_TEST_FLUX or flux on PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from fluxout.hostlist import HostlistError, compress, expand

FLUX = os.environ.get("FLUXOUT_TEST_FLUX") or shutil.which("flux")

# hostlist -> its hosts, as flux-core 0.88's flux hostlist -e gives them
EXPANDED = {
    "node[1-4,7]": ["node1", "node2", "node3", "node4", "node7"],
    "node[01-10]": [f"node{n:02d}" for n in range(1, 11)],
    "node[9-11]": ["node9", "node10", "node11"],
    "node[009-011]": ["node009", "node010", "node011"],
    "node[0-02]": ["node0", "node1", "node2"],
    "a[1-2],b1,a3": ["a1", "a2", "b1", "a3"],
    "node[1-3]x": ["node1x", "node2x", "node3x"],
    "x[1-2]y[3-4]": ["x1y[3-4]", "x2y[3-4]"],
    "node[1-3,2]": ["node1", "node2", "node3", "node2"],
    "n[1-2],": ["n1", "n2"],
    "hostfoo": ["hostfoo"],
    "": [],
    "rack1-node[1-2],login": ["rack1-node1", "rack1-node2", "login"],
}

# hosts (comma-joined) -> flux hostlist's encoding of them
COMPRESSED = {
    "node1,node2,node3": "node[1-3]",
    "node3,node1,node2": "node[3,1-2]",
    "node01,node02,node10": "node[01-02,10]",
    "node1,node01": "node[1,01]",
    "a1,b2,a2": "a1,b2,a2",
    "node9,node10": "node[9-10]",
    "node09,node10": "node[09-10]",
    "node9,node010": "node[9,010]",
    "node001,node2": "node[001,2]",
    "node2,node2": "node[2,2]",
    "n1x,n2x": "n1x,n2x",
    "node1-1,node1-2": "node1-[1-2]",
    "node0": "node0",
    "1,2,3": "[1-3]",
    "a1b2,a1b3": "a1b[2-3]",
    "nodeX1,nodex2": "nodeX1,nodex2",
    "node1,node2,node3,node5": "node[1-3,5]",
    "node1,login,node2": "node1,login,node2",
}


@pytest.mark.parametrize("text", sorted(EXPANDED))
def test_expand(text: str) -> None:
    assert expand(text) == EXPANDED[text]


@pytest.mark.parametrize("hosts", sorted(COMPRESSED))
def test_compress(hosts: str) -> None:
    assert compress(hosts.split(",")) == COMPRESSED[hosts]


@pytest.mark.parametrize("hosts", sorted(COMPRESSED))
def test_round_trip(hosts: str) -> None:
    assert expand(compress(hosts.split(","))) == hosts.split(",")


@pytest.mark.parametrize("bad", ["node[1-2", "node1-2]", "node[a-b]", "node[10-9]", "node[]"])
def test_bad_hostlists(bad: str) -> None:
    with pytest.raises(HostlistError):
        expand(bad)


def _flux_hostlist(*args: str) -> str:
    assert FLUX is not None
    done = subprocess.run(
        [FLUX, "hostlist", "-f", *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.mark.skipif(not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX")
def test_the_tables_are_flux_hostlists() -> None:
    """The expected values above are what flux's own hostlist says."""
    for text, hosts in EXPANDED.items():
        if text in ("",):
            continue
        assert _flux_hostlist("-e", "-d", ",", text).split(",") == hosts, text
    for hosts, text in COMPRESSED.items():
        assert _flux_hostlist(hosts) == text, hosts

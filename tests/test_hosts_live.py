"""Host labels live, in real instances (skipped without flux): against
``flux job hostpids`` (which names the shells' real host), and, on four
brokers with fake hostnames, against what each task says it ran on
(``flux getattr hostname``) and ``flux jobs -no {nodelist}``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.test_integration import FLUX, in_instance, result

pytestmark = pytest.mark.skipif(
    not FLUX, reason="no flux command: put flux on PATH or set FLUXOUT_TEST_FLUX"
)


def test_host_labels_are_hostpids_hosts(tmp_path: Path) -> None:
    script = r"""
id=$($FLUX submit -N2 -n3 sh -c 'echo task $FLUX_TASK_RANK; sleep 2')
$FLUX job hostpids -t 60 $id > hostpids
$FLUX job wait-event -t 60 $id clean
save host fo cat -q --label-by host-rank --stream stdout $id
save follow fo follow --label-by host --stream stdout $id
"""
    done = in_instance(tmp_path, script, 2, 180)
    assert done.returncode == 0, done.stderr
    hosts = [pair.rsplit(":", 1)[0] for pair in (tmp_path / "hostpids").read_text().split(",")]
    assert len(hosts) == 3
    out, err, rc = result(tmp_path, "host")
    assert (err, rc) == (b"", 0)
    labelled = re.findall(rb"^(\S+)\[(\d+)\]: task (\d+)$", out, re.MULTILINE)
    assert sorted(int(r) for _, r, _ in labelled) == list(range(3))
    for host, rank, said in labelled:
        assert rank == said
        assert host.decode() == hosts[int(rank)]
    out, _, rc = result(tmp_path, "follow")
    assert rc == 0
    assert sorted(out.splitlines()) == sorted(f"{hosts[r]}: task {r}".encode() for r in range(3))


def test_fake_hosts_live(tmp_path: Path) -> None:
    r = tmp_path / "instance-R.json"
    conf = tmp_path / "conf"
    conf.mkdir()
    # The instance's R names the fake hosts (else each broker's R says the real one).
    encoded = subprocess.run(
        [str(FLUX), "R", "encode", "--ranks=0-3", "--cores=0-1", "--hosts=node[1-4]"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    r.write_bytes(encoded.stdout)
    (conf / "resource.toml").write_text(f'[resource]\npath = "{r}"\nnoverify = true\n')
    script = r"""
id=$($FLUX submit -N4 -n8 --taskmap=cyclic \
    sh -c 'echo task $FLUX_TASK_RANK on $(flux getattr hostname); echo same')
$FLUX job wait-event -t 60 $id clean
$FLUX jobs -no {nodelist} $id > nodelist
save host fo cat -q --label-by host --stream stdout $id
save only fo cat --hosts 'node[2,4]' -l --grep task --stream stdout $id
save blocks fo cat --coalesce --label-by host --grep same $id
"""
    done = in_instance(tmp_path, script, 4, 180, "--test-hosts=node[1-4]", f"-o,-c,{conf}")
    assert done.returncode == 0, done.stderr
    out, err, rc = result(tmp_path, "host")
    assert (err, rc) == (b"", 0)
    labelled = re.findall(rb"^(node\d): task (\d) on (node\d)$", out, re.MULTILINE)
    assert len(labelled) == 8 and out.count(b"\n") == 16
    assert all(label == said for label, _, said in labelled)
    assert {int(rank): label for label, rank, _ in labelled} == {
        rank: b"node%d" % (rank % 4 + 1) for rank in range(8)
    }
    out, _, rc = result(tmp_path, "only")
    assert rc == 0
    assert sorted(out.splitlines()) == sorted(
        b"%d: task %d on node%d" % (r, r, r % 4 + 1) for r in (1, 3, 5, 7)
    )
    nodelist = (tmp_path / "nodelist").read_bytes().strip()
    assert nodelist == b"node[1-4]"
    out, _, rc = result(tmp_path, "blocks")
    rule = b"-" * 16 + b"\n"
    assert (out, rc) == (rule + nodelist + b"\n" + rule + b"same\n" * 2, 0)

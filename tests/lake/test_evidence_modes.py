"""Evidence on local disks: files 0600 in 0700 folders, whatever the umask (issue 8)."""

from __future__ import annotations

import os
import stat

import pytest

from vigil.evidence import EvidenceStore
from vigil.lake import Lake


@pytest.fixture
def permissive_umask():
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_0600_and_folders_0700_under_a_permissive_umask(tmp_path, permissive_umask):
    target = tmp_path / "evidence"
    store = EvidenceStore.from_target(str(target))
    path = store.capture("file", "claude_file_1", "md5abc", "payroll.xlsx", b"PK\x03\x04 raw content")
    text = store.capture_text("message", "claude_chat_msg_1", None, "my card is 4111 1111 1111 1111")
    assert store.read(path) == b"PK\x03\x04 raw content"
    assert mode(path) == 0o600 and mode(text) == 0o600
    folders = [target] + [p for p in target.rglob("*") if p.is_dir()]
    assert len(folders) == 7  # target, 2 kinds, 2 ids, 2 versions
    assert {str(p.relative_to(tmp_path)): mode(p) for p in folders} == \
        {str(p.relative_to(tmp_path)): 0o700 for p in folders}
    assert not [p for p in target.rglob("*") if p.is_file() and mode(p) != 0o600]


def test_recapture_keeps_the_modes_and_tightens_folders_from_older_versions(tmp_path, permissive_umask):
    target = tmp_path / "evidence"
    old_folder = target / "file" / "claude_file_1"
    old_folder.mkdir(parents=True, mode=0o755)
    os.chmod(target / "file", 0o755)
    store = EvidenceStore.from_target(str(target))
    path = store.capture("file", "claude_file_1", "v1", "a.txt", b"one")
    path = store.capture("file", "claude_file_1", "v1", "a.txt", b"two")  # rewritten atomically
    assert store.read(path) == b"two" and mode(path) == 0o600
    assert mode(target / "file") == 0o700 and mode(old_folder) == 0o700
    assert not [p for p in target.rglob(".*.tmp")]


def test_an_existing_target_keeps_its_own_mode(tmp_path, permissive_umask):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    store = EvidenceStore.from_target(str(shared))
    path = store.capture("file", "f1", "v", "x.bin", b"x")
    assert mode(shared) == 0o755  # chosen by the operator; the folders below keep others out
    assert mode(shared / "file") == 0o700 and mode(path) == 0o600


def test_the_lake_itself_keeps_the_umask_modes(tmp_path):
    """Only evidence is private: lake files stay readable by the group that queries them."""
    old = os.umask(0o022)
    try:
        lake = Lake(str(tmp_path / "lake"), compact_threshold=0)
        result = lake.land({"findings": [{"finding_id": "f" * 32, "object_kind": "message",
                                          "object_id": "m1", "infotype": "EMAIL_ADDRESS"}]})
    finally:
        os.umask(old)
    assert mode(result.files["findings"]) == 0o644

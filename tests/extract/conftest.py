"""Test helpers: a minimal OLE compound-file (CFB v3) writer, so legacy DOC/PPT and Outlook MSG
inputs can be generated instead of checked in. Streams under 4 KiB go to the mini stream, as the
format requires; streams can sit in the root storage or one storage below it."""

import struct

import pytest

SECTOR, MINI = 512, 64
FREESECT, ENDOFCHAIN, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
CUTOFF = 4096


def _dir_entry(name: str, kind: int, start: int, size: int, child=NOSTREAM, right=NOSTREAM) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    entry = encoded.ljust(64, b"\x00")
    entry += struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, black
    entry += struct.pack("<III", NOSTREAM, right, child)  # left, right, child
    entry += bytes(16) + struct.pack("<I", 0) + bytes(16)  # clsid, state bits, times
    entry += struct.pack("<IQ", start, size)
    return entry


def _pad(data: bytes, unit: int) -> bytes:
    return data + b"\x00" * (-len(data) % unit)


def make_cfb(streams: dict[str, bytes]) -> bytes:
    """An OLE compound file holding ``streams`` (name -> bytes; ``"storage/name"`` nests a
    stream one storage deep)."""
    names = list(streams)
    n_storages = len({n.split("/", 1)[0] for n in names if "/" in n})
    n_dir_sectors = -(-(len(names) + n_storages + 1) // (SECTOR // 128))
    small = [n for n in names if len(streams[n]) < CUTOFF]
    mini_data = b"".join(_pad(streams[n], MINI) for n in small)
    n_mini_sectors = len(_pad(mini_data, SECTOR)) // SECTOR if mini_data else 0
    n_minifat = -(-(len(mini_data) // MINI) // (SECTOR // 4)) if mini_data else 0

    fat: list[int] = []
    def chain(count: int) -> int:
        start = len(fat)
        fat.extend(range(start + 1, start + count))
        fat.append(ENDOFCHAIN)
        return start

    fat.append(FATSECT)                      # sector 0: the FAT itself
    dir_start = chain(n_dir_sectors)
    minifat_start = chain(n_minifat) if n_minifat else ENDOFCHAIN
    ministream_start = chain(n_mini_sectors) if n_mini_sectors else ENDOFCHAIN
    big_start = {}
    for n in names:
        if n not in small:
            big_start[n] = chain(len(_pad(streams[n], SECTOR)) // SECTOR)
    assert len(fat) <= SECTOR // 4, "test CFB writer supports files up to 64 KiB"
    fat += [FREESECT] * (SECTOR // 4 - len(fat))

    minifat: list[int] = []
    mini_start = {}
    for n in small:
        count = len(_pad(streams[n], MINI)) // MINI
        if not count:  # an empty stream owns no sectors
            mini_start[n] = ENDOFCHAIN
            continue
        mini_start[n] = len(minifat)
        minifat.extend(range(len(minifat) + 1, len(minifat) + count))
        minifat.append(ENDOFCHAIN)
    minifat += [FREESECT] * (n_minifat * SECTOR // 4 - len(minifat))

    # Directory: "storage/stream" names put a stream inside a storage (one level). Siblings are
    # chained through their right pointers (a degenerate but valid tree).
    storages = sorted({n.split("/", 1)[0] for n in names if "/" in n})
    top = [n for n in names if "/" not in n] + storages
    ids = {name: i + 1 for i, name in enumerate(top)}
    for storage in storages:
        for n in names:
            if n.startswith(storage + "/"):
                ids[n] = len(ids) + 1
    records: dict[int, bytes] = {}

    def siblings(group: list[str]) -> None:
        for k, n in enumerate(group):
            right = ids[group[k + 1]] if k + 1 < len(group) else NOSTREAM
            if n in storages:
                kids = [m for m in names if m.startswith(n + "/")]
                records[ids[n]] = _dir_entry(n, 1, 0, 0, child=ids[kids[0]], right=right)
                siblings(kids)
            else:
                start = mini_start[n] if n in small else big_start[n]
                records[ids[n]] = _dir_entry(n.split("/")[-1], 2, start, len(streams[n]), right=right)

    siblings(top)
    entries = [_dir_entry("Root Entry", 5, ministream_start, len(mini_data), child=1)]
    entries += [records[i] for i in range(1, len(records) + 1)]
    directory = _pad(b"".join(entries), SECTOR)

    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, 1, dir_start, 0, CUTOFF, minifat_start, n_minifat,
                            ENDOFCHAIN, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108)
    body = [struct.pack(f"<{SECTOR // 4}I", *fat), directory]
    if n_minifat:
        body.append(struct.pack(f"<{len(minifat)}I", *minifat))
    if mini_data:
        body.append(_pad(mini_data, SECTOR))
    body += [_pad(streams[n], SECTOR) for n in names if n not in small]
    return header + b"".join(body)


@pytest.fixture
def cfb():
    return make_cfb

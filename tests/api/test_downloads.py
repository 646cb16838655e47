"""Streamed downloads: size cap, Content-MD5 verification, Content-Disposition names."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from vigil.api import ContentIntegrityError, NotFoundError
from vigil.api.downloads import filename_from_disposition, md5_header_hex, mime_from_content_type

CHUNK = 64 * 1024


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class Body:
    """A chunked body that records how many chunks were pulled from it."""

    def __init__(self, chunks: int, fail_after: int | None = None):
        self.total, self.pulled, self.fail_after = chunks, 0, fail_after

    def __iter__(self):
        for i in range(self.total):
            if self.fail_after is not None and i == self.fail_after:
                raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
            self.pulled += 1
            yield bytes([i % 256]) * CHUNK


def test_content_headers_are_parsed(make_client):
    data = "name,card\nAda,4111111111111111\n".encode()
    client = make_client(lambda r: httpx.Response(200, content=data, headers={
        "content-type": "text/csv; charset=utf-8", "content-md5": b64md5(data), "request-id": "req_dl",
        "content-disposition": "attachment; filename*=utf-8''Q3%20n%C3%BCmbers%E2%82%AC.csv"}))
    dl = client.file_content("claude_file_1")
    assert (dl.content, dl.filename, dl.mime_type, dl.size) == (data, "Q3 nümbers€.csv", "text/csv", len(data))
    assert dl.md5 == hashlib.md5(data).hexdigest() and dl.md5_verified is True and not dl.too_large
    assert dl.request_id == "req_dl" and client.stats().bytes_downloaded == len(data)
    assert "4111" not in repr(dl)  # the bytes never reach a repr


def test_size_cap_stops_reading_a_chunked_body(make_client):
    body = Body(chunks=200)  # 12.5 MiB announced by nothing (chunked)
    client = make_client(lambda r: httpx.Response(200, content=iter(body), headers={
        "content-disposition": "attachment; filename*=utf-8''big.bin"}))
    dl = client.generated_file_content("claude_gen_file_1", max_bytes=3 * CHUNK + 10)
    assert dl.too_large and dl.content == b"" and dl.md5 is None and dl.filename == "big.bin"
    assert body.pulled == 4 and dl.size == 4 * CHUNK      # stopped on the chunk that crossed the cap
    assert client.stats().bytes_downloaded == 4 * CHUNK and client.stats().retries == 0


def test_announced_length_over_cap_reads_nothing(make_client):
    body = Body(chunks=50)

    def handler(request):
        return httpx.Response(200, content=iter(body), headers={"content-length": str(50 * CHUNK)})

    dl = make_client(handler).file_content("claude_file_1", max_bytes=CHUNK)
    assert dl.too_large and dl.size == 50 * CHUNK and body.pulled == 0


def test_body_exactly_at_cap_is_kept(make_client):
    data = b"x" * 1000
    dl = make_client(lambda r: httpx.Response(200, content=data)).artifact_content("v1", max_bytes=1000)
    assert not dl.too_large and dl.content == data and dl.md5_verified is None


def test_md5_mismatch_is_retried_once_then_raises(make_client):
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(200, content=b"tampered", headers={"content-md5": b64md5(b"original"),
                                                                 "request-id": "req_md5"})

    client = make_client(handler)
    with pytest.raises(ContentIntegrityError) as info:
        client.file_content("claude_file_1")
    assert len(calls) == 2 and info.value.request_id == "req_md5"
    assert info.value.expected_md5 == hashlib.md5(b"original").hexdigest()
    assert info.value.actual_md5 == hashlib.md5(b"tampered").hexdigest()


def test_md5_mismatch_recovers_on_retry(make_client):
    bodies = [b"corrupted", b"original"]
    client = make_client(lambda r: httpx.Response(200, content=bodies.pop(0),
                                                  headers={"content-md5": b64md5(b"original")}))
    assert client.file_content("claude_file_1").content == b"original"
    assert client.stats().retries == 1


def test_truncated_download_is_retried(make_client):
    bodies = [Body(chunks=4, fail_after=2), Body(chunks=4)]
    client = make_client(lambda r: httpx.Response(200, content=iter(bodies.pop(0))))
    dl = client.file_content("claude_file_1")
    assert dl.size == 4 * CHUNK and client.stats().retries == 1
    assert client.stats().bytes_downloaded == 6 * CHUNK  # both attempts counted


def test_download_404_is_typed_and_not_retried(make_client):
    client = make_client(lambda r: httpx.Response(404, headers={"request-id": "req_404"}, json={
        "type": "error", "error": {"type": "not_found_error",
                                   "message": "No file found with provided id, or it has already been deleted."}}))
    with pytest.raises(NotFoundError) as info:
        client.file_content("claude_file_gone")
    assert info.value.request_id == "req_404" and "No file found" in info.value.message
    assert client.stats().requests == 1


def test_ids_cannot_escape_their_path_segment(make_client):
    seen = []
    client = make_client(lambda r: (seen.append(r.url.raw_path), httpx.Response(200, content=b"x"))[1])
    client.file_content("../../organizations")
    assert seen == [b"/v1/compliance/apps/chats/files/..%2F..%2Forganizations/content"]


@pytest.mark.parametrize("header,name", [
    ("attachment; filename*=utf-8''customer_list_2026.csv", "customer_list_2026.csv"),
    ("attachment; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20final.pdf", "报告 final.pdf"),
    ('attachment; filename="plain name.docx"', "plain name.docx"),
    ("attachment; filename=\"old.txt\"; filename*=utf-8''new%C3%A9.txt", "newé.txt"),
    ("attachment; filename*=utf-8''..%2F..%2Fetc%2Fpasswd", "passwd"),
    ("attachment", None), (None, None)])
def test_disposition_filenames(header, name):
    assert filename_from_disposition(header) == name


def test_header_helpers():
    assert md5_header_hex("my9vDDwdSl6PemtcTT4vEA==") == "9b2f6f0c3c1d4a5e8f7a6b5c4d3e2f10"
    assert md5_header_hex("not base64!") is None and md5_header_hex(None) is None
    assert mime_from_content_type("text/csv; charset=utf-8") == "text/csv"
    assert mime_from_content_type(None) is None

"""The send-stream reader (wrappers/wrapperlib/send_stream.py) on crafted
streams: names are bytes inside length-prefixed attributes, whatever they
hold; anything malformed is refused with StreamError, never read past."""

import contextlib
import io
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))

from wrapperlib import send_stream
from wrapperlib.send_stream import StreamError


def attribute(kind, value):
    if isinstance(value, int):
        value = struct.pack("<Q", value)
    return struct.pack("<HH", kind, len(value)) + value


def command(kind, *attributes):
    body = b"".join(attributes)
    return struct.pack("<IHI", len(body), kind, 0) + body


def stream(*commands, version=1, end=True):
    tail = command(send_stream.END) if end else b""
    return send_stream.MAGIC + struct.pack("<I", version) + b"".join(commands) + tail


def read(data):
    return list(send_stream.commands(io.BytesIO(data)))


def test_a_name_with_newlines_is_one_path():
    name = b"a\nunlink          ./s2/victim\n\xff\xfe"
    [parsed] = read(stream(command(send_stream.UNLINK, attribute(send_stream.A_PATH, name))))
    assert parsed == send_stream.Command(send_stream.UNLINK, name)


def test_renames_links_and_data_ranges_are_typed():
    parsed = read(
        stream(
            command(
                send_stream.RENAME,
                attribute(send_stream.A_PATH, b"o257-5-0"),
                attribute(send_stream.A_PATH_TO, b"dir/new"),
            ),
            command(
                send_stream.LINK,
                attribute(send_stream.A_PATH, b"new"),
                attribute(send_stream.A_PATH_LINK, b"old"),
            ),
            command(
                send_stream.UPDATE_EXTENT,
                attribute(send_stream.A_PATH, b"f"),
                attribute(send_stream.A_FILE_OFFSET, 4096),
                attribute(send_stream.A_SIZE, 8192),
            ),
            # Attributes the reader doesn't keep (a time) are skipped.
            command(
                send_stream.TRUNCATE,
                attribute(send_stream.A_PATH, b"f"),
                attribute(10, b"\0" * 12),
                attribute(send_stream.A_SIZE, 7),
            ),
        )
    )
    assert parsed == [
        send_stream.Command(send_stream.RENAME, b"o257-5-0", b"dir/new"),
        send_stream.Command(send_stream.LINK, b"new", b"old"),
        send_stream.Command(send_stream.UPDATE_EXTENT, b"f", offset=4096, size=8192),
        send_stream.Command(send_stream.TRUNCATE, b"f", size=7),
    ]


def test_version_2_data_runs_to_the_end_of_its_command():
    data = b"\0" * 100
    write = command(
        send_stream.WRITE,
        attribute(send_stream.A_PATH, b"f"),
        attribute(send_stream.A_FILE_OFFSET, 0),
        struct.pack("<H", send_stream.A_DATA) + data,
    )
    [parsed] = read(stream(write, version=2))
    assert (parsed.kind, parsed.size) == (send_stream.WRITE, 100)


@pytest.mark.parametrize(
    "data",
    [
        b"not-a-stream\0" + struct.pack("<I", 1),
        send_stream.MAGIC + struct.pack("<I", 99),
        stream(end=False),  # the sender was stopped
        stream(command(send_stream.UNLINK, attribute(send_stream.A_PATH, b"x")))[:-12],
        # A command claiming more than any the kernel sends.
        send_stream.MAGIC
        + struct.pack("<I", 1)
        + struct.pack("<IHI", send_stream.MAX_COMMAND_BYTES + 1, send_stream.UNLINK, 0),
        # An attribute running past its command.
        stream(
            struct.pack("<IHI", 6, send_stream.UNLINK, 0)
            + struct.pack("<HH", send_stream.A_PATH, 50)
            + b"ab"
        ),
        # A number that is not 8 bytes.
        stream(command(send_stream.TRUNCATE, attribute(send_stream.A_SIZE, b"\1\2"))),
        # A path longer than PATH_MAX.
        stream(command(send_stream.UNLINK, attribute(send_stream.A_PATH, b"a" * 5000))),
    ],
)
def test_malformed_streams_are_refused(data):
    with pytest.raises(StreamError):
        read(data)


@given(st.binary(max_size=400))
def test_any_bytes_after_the_header_parse_or_are_refused(tail):
    with contextlib.suppress(StreamError):
        read(send_stream.MAGIC + struct.pack("<I", 1) + tail)

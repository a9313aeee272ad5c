"""read_table as callers see it: whatever the bytes, a table or one line saying why the file is refused."""

import random

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from contacts.importing.reading import EMPTY, NOT_SPREADSHEET, FileRejected, read_table
from tests.helpers import refusal


@pytest.mark.parametrize("data", [b"", b"  \r\n\t\n", b"\xef\xbb\xbf", b";;;\r\n;;\r\n", b"\xef\xbb\xbf\r\n"])
def test_empty_files_are_refused(data):
    assert refusal(data) == EMPTY


def test_the_file_name_in_messages_is_its_base_name_on_one_line():
    data = random.Random(3).randbytes(4096)

    assert refusal(data, filename="C:\\Users\\ann\\my\nfile.csv") == NOT_SPREADSHEET.format(
        name='"myfile.csv"'
    )


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.binary(max_size=500).map(lambda data: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + data),
        st.binary(max_size=500).map(lambda data: b"PK\x03\x04" + data),
        st.binary(max_size=500).map(lambda data: b"\xff\xfe" + data),
        st.binary(max_size=500).map(lambda data: b"\xef\xbb\xbf" + data),
        st.text(max_size=500).map(lambda text: text.encode("utf-8", "surrogatepass")),
    )
)
def test_any_bytes_give_a_table_or_a_file_rejection(data):
    try:
        table = read_table(data, filename="upload.csv")
    except FileRejected as error:
        message = str(error)
    else:
        message = ""
        assert all(len(values) == len(table.headers) for _, values in table.rows)
    assert "\n" not in message

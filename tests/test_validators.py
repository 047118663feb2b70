"""Properties of the wrappers' argument validators (hypothesis).

wrapperlib is imported from the repository's wrappers/ directory, with its
settings replaced by a fixed namespace: the validators only read settings,
and no root-owned installation is needed to check them.
"""

import io
import re
import sys
import types
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))

from wrapperlib import config, validate
from wrapperlib.errors import Refusal

PROTECTED = frozenset({"root", "admin1", "boss.adm"})
MAX_GIB = 4096
UID_MIN, UID_MAX = 20000, 59999
MANAGED_GID = 4242
SETTINGS = types.SimpleNamespace(
    PROTECTED_USERS=PROTECTED,
    MAX_VOLUME_GIB=MAX_GIB,
    ACCOUNT_UID_MIN=UID_MIN,
    ACCOUNT_UID_MAX=UID_MAX,
    MANAGED_GROUP="backupusers",
    RESERVED_NAMES=("reserved-here",),
)
NAME = re.compile(r"[a-z][a-z0-9._-]{0,31}")
CONTROL_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")


@pytest.fixture(autouse=True, scope="module")
def fixed_settings():
    # Module scope: hypothesis re-runs the test body, not function fixtures.
    saved = config._settings
    config._settings = SETTINGS
    try:
        yield
    finally:
        config._settings = saved


def one_line(refusal):
    return len(str(refusal).splitlines()) == 1


def outcome(function, *args):
    """(result, None) or (None, the Refusal)."""
    try:
        return function(*args), None
    except Refusal as refusal:
        return None, refusal


valid_names = st.from_regex(NAME, fullmatch=True).filter(
    lambda name: (
        name not in PROTECTED
        and name not in validate.WELL_KNOWN_ACCOUNTS
        and name not in SETTINGS.RESERVED_NAMES
    )
)
password_characters = st.characters(exclude_categories=(*CONTROL_CATEGORIES, "Cs"))
valid_passwords = st.text(password_characters, min_size=8, max_size=256)


# username


@given(valid_names)
def test_username_accepts_every_well_formed_unprotected_name(name):
    assert validate.username(name) == name


@pytest.mark.parametrize("name", ["sshd", "postgres", "www-data", "nobody", "reserved-here"])
def test_username_refuses_system_service_and_site_reserved_names(name):
    with pytest.raises(Refusal, match="reserved for a system or service account"):
        validate.username(name)


@given(st.text(max_size=40))
def test_username_lets_through_only_safe_names(text):
    name, refusal = outcome(validate.username, text)
    if refusal:
        assert one_line(refusal)
        return
    assert name == text
    assert NAME.fullmatch(name)
    assert name.isascii()
    assert name == name.lower()
    assert "/" not in name
    assert not name.startswith(("-", "."))
    assert len(name) <= 32
    assert name not in PROTECTED


@given(
    valid_names,
    st.integers(min_value=0, max_value=32),
    st.sampled_from(["/", " ", "\n", "\t", "\x00", "A", "Z", "é", "\u0430", "\u200b", ":", "$"]),
)
def test_username_refuses_a_name_with_any_unsafe_character(name, position, bad):
    text = name[:position] + bad + name[position:]
    with pytest.raises(Refusal) as refused:
        validate.username(text)
    assert one_line(refused.value)


@given(valid_names, st.sampled_from(["-", "--", "."]))
def test_username_refuses_option_and_dot_prefixes(name, prefix):
    with pytest.raises(Refusal):
        validate.username(prefix + name)


@given(st.sampled_from(sorted(PROTECTED)))
def test_username_refuses_protected_accounts(name):
    with pytest.raises(Refusal, match="protected"):
        validate.username(name)


@given(st.from_regex(r"[a-z][a-z0-9._-]{32,60}", fullmatch=True))
def test_username_refuses_names_over_32_characters(name):
    with pytest.raises(Refusal):
        validate.username(name)


# size_gib


@given(st.integers(min_value=1, max_value=MAX_GIB))
def test_size_accepts_every_whole_size_up_to_the_maximum(value):
    assert validate.size_gib(str(value)) == value


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_GIB + 1)))
def test_size_refuses_zero_negative_and_over_the_maximum(value):
    with pytest.raises(Refusal) as refused:
        validate.size_gib(str(value))
    assert one_line(refused.value)


@given(st.text(max_size=30))
def test_size_accepts_only_the_canonical_decimal_form(text):
    value, refusal = outcome(validate.size_gib, text)
    if refusal:
        assert one_line(refusal)
        return
    assert 1 <= value <= MAX_GIB
    assert str(value) == text  # no sign, zero padding, spaces, "_" or non-ASCII digits


@given(
    st.integers(min_value=1, max_value=MAX_GIB),
    st.sampled_from(["0{}", "+{}", " {}", "{} ", "{}\n", "{}.0", "{}e0", "{}_0", "-{}", "0x{}"]),
)
def test_size_refuses_other_spellings_of_a_valid_size(value, form):
    with pytest.raises(Refusal):
        validate.size_gib(form.format(value))


@given(st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: not f.is_integer()))
def test_size_refuses_fractions_and_non_numbers(value):
    with pytest.raises(Refusal):
        validate.size_gib(str(value))


# password_from_stdin


def read_password(data):
    return validate.password_from_stdin(io.BytesIO(data))


@given(valid_passwords, st.booleans())
def test_password_accepts_one_printable_line(password, newline):
    data = password.encode() + (b"\n" if newline else b"")
    assert read_password(data) == password


@given(st.binary(max_size=1100))
def test_password_returns_only_a_single_clean_line(data):
    password, refusal = outcome(read_password, data)
    if refusal:
        assert one_line(refusal)
        return
    assert data in (password.encode(), password.encode() + b"\n")
    assert 8 <= len(password) <= 256
    assert not any(unicodedata.category(char) in CONTROL_CATEGORIES for char in password)


@given(valid_passwords, st.sampled_from(["\n", "\r", "\x00", "\r\n", "\u2028", "\x85"]), st.text())
def test_password_refuses_a_second_line_whatever_follows(password, separator, rest):
    """The chpasswd injection: "mine\\nroot:owned" must never pass."""
    data = (password + separator + rest).encode()
    assume(data != password.encode() + b"\n")
    with pytest.raises(Refusal):
        read_password(data)


@given(st.text(password_characters, min_size=8, max_size=256), st.sampled_from(["root", "admin1"]))
def test_password_refuses_the_original_injection(password, victim):
    with pytest.raises(Refusal, match="control character"):
        read_password(f"{password}\n{victim}:owned-password\n".encode())


@given(st.text(password_characters, max_size=7))
def test_password_refuses_short_ones(password):
    with pytest.raises(Refusal, match="8 to 256"):
        read_password(password.encode())


@given(st.binary(min_size=1026, max_size=4000))
def test_password_refuses_anything_longer_than_its_read_limit(data):
    # Only the first bytes are read; they must never pass as a password.
    with pytest.raises(Refusal):
        read_password(data)


# arguments


@given(st.lists(st.text(), max_size=5), st.lists(st.sampled_from(["USER", "SIZE_GIB"]), max_size=3))
def test_arguments_require_exactly_the_named_count(args, names):
    if len(args) == len(names):
        assert validate.arguments(args, *names) == args
    else:
        with pytest.raises(Refusal, match="expected") as refused:
            validate.arguments(args, *names)
        assert one_line(refused.value)


# managed_account, with a fake account database


@given(
    valid_names,
    st.integers(min_value=0, max_value=2**32 - 2),
    st.sampled_from([MANAGED_GID, 0, 65534, MANAGED_GID + 1]),
)
def test_managed_account_requires_the_uid_range_and_the_managed_group(name, uid, gid):
    entry = types.SimpleNamespace(pw_name=name, pw_uid=uid, pw_gid=gid)
    fake_pwd = types.SimpleNamespace(getpwnam=lambda _: entry)
    fake_grp = types.SimpleNamespace(getgrnam=lambda _: types.SimpleNamespace(gr_gid=MANAGED_GID))
    real_pwd, real_grp = validate.pwd, validate.grp
    validate.pwd, validate.grp = fake_pwd, fake_grp
    try:
        if UID_MIN <= uid <= UID_MAX and gid == MANAGED_GID:
            assert validate.managed_account(name) is entry
        else:
            with pytest.raises(Refusal, match="not a backup account"):
                validate.managed_account(name)
    finally:
        validate.pwd, validate.grp = real_pwd, real_grp

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from probation_returns import pnc


def test_check_letter_hand_computed():
    # 2001/0012345: 10012345 mod 23 = 8 -> the 9th letter of ZABCDEFGH... is H.
    assert pnc.format_pnc(2001, 12345) == "2001/0012345H"
    # 1999/7654321: 997654321 mod 23 = 19 -> V.
    assert pnc.format_pnc(1999, 7654321) == "1999/7654321V"
    assert pnc.is_valid("2001/0012345H")
    assert not pnc.is_valid("2001/0012345Z")
    assert not pnc.is_valid("01/0012345H")
    assert not pnc.is_valid(None)


@given(st.integers(1900, 2099), st.integers(0, 9_999_999))
def test_vectorised_format_agrees_and_validates(year, serial):
    one = pnc.format_pnc(year, serial)
    assert pnc.format_many(np.array([year]), np.array([serial]))[0] == one
    assert pnc.is_valid(one)

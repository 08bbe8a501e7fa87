"""The URL converters every blueprint's rules share."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

# The largest row id: PostgreSQL's ``integer`` is 32-bit signed.
ROW_ID_MAX = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """An ``<int:…>`` path part bounded to what an integer column can hold.

    A larger number names no row, and handing it to the database overflows the
    driver (a 500), so it answers 404 like any other id that names nothing.
    """

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = ROW_ID_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)

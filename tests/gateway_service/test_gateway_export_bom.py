"""``GET /customers/export?format=csv&bom=true`` starts with the UTF-8 byte order mark (so
Excel reads Chinese text); JSON Lines never carry one, and without ``bom`` neither does CSV."""
import json


def test_the_bom_starts_a_csv_export_when_asked(gateway, fake_pool):
    lines = {"csv": ["number,name", "C00000001,华为技术有限公司"],
             "jsonl": [json.dumps({"number": "C00000001"})]}
    fake_pool.reply("customer", "export_batch", lambda after, size, fmt: {
        "lines": lines[fmt], "next_after": 2, "done": True})
    asked = gateway.call("GET", "auditor", "/customers/export",
                         query_string={"format": "csv", "bom": "true"})
    assert asked.status_code == 200
    assert asked.get_data() == "\ufeffnumber,name\nC00000001,华为技术有限公司\n".encode("utf-8")
    plain = gateway.call("GET", "auditor", "/customers/export", query_string={"format": "csv"})
    assert plain.get_data().startswith(b"number,")
    jsonl = gateway.call("GET", "auditor", "/customers/export", query_string={"bom": "true"})
    assert jsonl.status_code == 200 and jsonl.get_data().startswith(b"{")
    assert gateway.call("GET", "auditor", "/customers/export",
                        query_string={"format": "csv", "bom": "maybe"}).status_code == 422

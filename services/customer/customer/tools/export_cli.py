"""Stream the customer export to a file or stdout, batch by batch over RPC.

    python -m customer.tools.export_cli --format jsonl > customers.jsonl
    python -m customer.tools.export_cli --format csv --out customers.csv --user auditor-1 --roles auditor
    python -m customer.tools.export_cli --format csv --bom > customers.csv   # for Excel

It goes through the running service (so the caller's authorization applies) and never
holds more than one batch in memory.
"""
import argparse
import sys

from guanxi_common.config import amqp_uri
from guanxi_common.context import Actor


#: the UTF-8 byte order mark: without it Excel reads a CSV in the local code page and
#: garbles Chinese text
BOM = "\ufeff"


def stream(proxy, out, fmt="jsonl", batch=1000, include_merged=False, bom=False):
    """Write every line of the export to ``out``; returns the number of records. ``bom``:
    start a CSV with the UTF-8 byte order mark (JSON Lines never carry one)."""
    after, done, records = 0, False, 0
    if bom and fmt == "csv":
        out.write(BOM)
    while not done:
        page = proxy.customer.export_batch(after=after, limit=batch, format=fmt)
        for line in page["lines"]:
            out.write(line + "\n")
        records += len(page["lines"]) - (1 if fmt == "csv" and after == 0 and page["lines"] else 0)
        after, done = page["next_after"], page["done"]
    out.flush()
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--out", help="file to write (default: stdout)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--bom", action="store_true",
                        help="start a CSV with the UTF-8 byte order mark (for Excel)")
    parser.add_argument("--amqp-uri", default=amqp_uri())
    parser.add_argument("--user", default="system", help="user id of the caller")
    parser.add_argument("--roles", default="system", help="comma-separated roles of the caller")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    from guanxi_common.rpc import cluster_rpc

    actor = Actor(user_id=args.user, roles=frozenset(r for r in args.roles.split(",") if r))
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        with cluster_rpc(args.amqp_uri, actor=actor, timeout=args.timeout) as proxy:
            count = stream(proxy, out, args.format, args.batch, bom=args.bom)
    finally:
        if args.out:
            out.close()
    print(f"exported {count} customers", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

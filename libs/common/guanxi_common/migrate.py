"""``python -m guanxi_common.migrate --all | SERVICE ...``: apply services' migrations.

Services are the folders ``services/<name>/`` of the repository that hold an
``alembic.ini``; each is migrated against ``config.database_url(<name>)``
(``<NAME>_DATABASE_URL`` or its SQLite file under var/).
"""
import argparse
import logging
import sys

from guanxi_common.config import PROJECT_ROOT, database_url
from guanxi_common.migrations import upgrade


def discover(root=PROJECT_ROOT):
    """``{service name: path of its alembic.ini}`` for every service with migrations."""
    return {ini.parent.name: ini for ini in sorted((root / "services").glob("*/alembic.ini"))}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m guanxi_common.migrate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="*", help="service names (default with --all)")
    parser.add_argument("--all", action="store_true", help="every service with an alembic.ini")
    parser.add_argument("--revision", default="head")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    found = discover()
    names = sorted(found) if args.all else args.services
    if args.all and not names:
        print("no services with migrations found")
        return 0
    if not names:
        parser.error("name a service or pass --all")
    unknown = [n for n in names if n not in found]
    if unknown:
        parser.error(f"no services/<name>/alembic.ini for: {', '.join(unknown)}")
    for name in names:
        url = database_url(name)
        print(f"migrating {name} ({url.split('@')[-1]}) to {args.revision}")
        upgrade(name, found[name], url, revision=args.revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())

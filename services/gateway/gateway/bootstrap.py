"""``python -m gateway.bootstrap [--demo-users]``: migrate the gateway's database and make
sure an admin exists, printing where the API is and, the first time only, the generated
admin password (``ADMIN_USERNAME`` / ``ADMIN_PASSWORD`` choose them instead)."""
import argparse
import sys
from pathlib import Path

from guanxi_common import config
from guanxi_common.config import GATEWAY, database_url, http_port
from guanxi_common.unit_of_work import session_scope
from guanxi_common.errors import GuanxiError
from guanxi_common.migrations import upgrade

from gateway import users


def alembic_ini():
    """``$GUANXI_HOME/services/gateway/alembic.ini`` (where the image puts it: a regular
    pip install leaves it out of site-packages), else the one beside the package."""
    candidates = (config.PROJECT_ROOT / "services" / "gateway" / "alembic.ini",
                  Path(__file__).resolve().parents[1] / "alembic.ini")
    return next((path for path in candidates if path.is_file()), candidates[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gateway.bootstrap",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-users", action="store_true",
                        help="also create one demo user per role (demo_<role> / demo-<role>-pw)")
    args = parser.parse_args(argv)
    url = database_url("gateway")
    upgrade("gateway", alembic_ini(), url)
    try:
        with session_scope(url, service_name="gateway") as uow:
            users.ensure_admin(uow.session)
            created = users.seed_demo_users(uow.session) if args.demo_users else []
    except GuanxiError as exc:  # e.g. an ADMIN_PASSWORD that fails the password policy
        print(f"gateway bootstrap: {exc} {exc.details}", file=sys.stderr)
        return 2
    if created:
        print(f"Demo users created: {', '.join(created)} (password: demo-<role>-pw)")
    port = http_port(GATEWAY)
    print(f"Guanxi gateway: http://127.0.0.1:{port}/api/v1 "
          f"(log in with POST /api/v1/auth/token)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

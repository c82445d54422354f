"""Shared by the customer tests: the callers they act as, where the migrations live."""
from pathlib import Path

from guanxi_common.context import Actor

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "services" / "customer" / "alembic.ini"

ADMIN = Actor(user_id="admin-1", roles=frozenset({"admin"}), request_id="req-admin")
REP = Actor(user_id="rep-1", roles=frozenset({"sales_rep"}), region="广东", request_id="req-rep")
REP2 = Actor(user_id="rep-2", roles=frozenset({"sales_rep"}), region="广东", request_id="req-rep2")
MANAGER = Actor(user_id="mgr-1", roles=frozenset({"sales_manager"}), region="广东")
CREDIT = Actor(user_id="cm-1", roles=frozenset({"credit_manager"}))
AUDITOR = Actor(user_id="aud-1", roles=frozenset({"auditor"}))
